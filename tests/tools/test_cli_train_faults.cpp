// The trainer against faults: a second trainer on the same folder, a step past max_iter,
// non-finite training, stale temporaries of a killed run, and readers racing with pruning.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "cli_util.h"
#include "core/dir_lock.h"
#include "fluids/dataset_file.h"
#include "fluids/train_config.h"
#include "fluids/trainer.h"
#include "optim/checkpoint.h"

using namespace lagrad;
using namespace lagrad::test;
namespace fs = std::filesystem;

namespace {

// Six frames of 40 particles in a loose block, a small box around them.
Sequence tiny_sequence() {
  Sequence seq;
  for (int i = 0; i < 20; ++i) {
    for (float v : {0.1f * i - 1.0f, -0.5f, 0.0f}) seq.box.push_back(v);
    for (float v : {0.0f, 1.0f, 0.0f}) seq.box_normals.push_back(v);
  }
  for (int f = 0; f < 6; ++f) {
    Frame fr;
    fr.frame_id = f;
    fr.scene_id = "sim_0000";
    for (int i = 0; i < 40; ++i) {
      for (float v : {0.05f * (i % 4), 0.05f * (i / 4 % 5) - 0.01f * f, 0.05f * (i / 20)}) fr.pos.push_back(v);
      for (float v : {0.0f, -0.1f * f, 0.0f}) fr.vel.push_back(v);
      fr.mass.push_back(0.125f);
      fr.viscosity.push_back(0.0f);
    }
    seq.frames.push_back(std::move(fr));
  }
  return seq;
}

// A dataset of the fixture and a tiny config training `max_iter` steps, a checkpoint per step.
std::string setup(const TempDir& dir, int max_iter, const std::string& base_lr = "0.001") {
  fs::create_directories(dir.path() / "data" / "train");
  write_dataset_file(dir.file("data/train/sim_0000_00.msgpack.zst"), tiny_sequence());
  std::ofstream(dir.file("cfg.yaml")) << "dataset_dir: data\n"
                                         "train_data:\n  shuffle_buffer: 2\n"
                                         "model:\n  layer_channels: [4, 8, 3]\n"
                                         "training:\n  max_iter: " << max_iter << "\n  batch_size: 1\n"
                                         "  checkpoint_interval: 1\n  eval_interval: 0\n  base_lr: " << base_lr << "\n";
  return "train " + quoted(dir.file("cfg.yaml")) + " --no-progress --train-dir " + quoted(dir.file("run"));
}

std::vector<std::string> checkpoints(const TempDir& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir.path() / "run" / "checkpoints", ec)) out.push_back(e.path().string());
  return out;
}

}  // namespace

TEST_CASE("train faults: a second trainer on the same folder refuses with a clear message") {
  TempDir dir("faults_lock");
  const std::string cmd = setup(dir, 1);
  fs::create_directories(dir.path() / "run");
  {
    const DirLock other(dir.file("run"), "test");  // stands for a running trainer
    const Run r = run_tool(dir, cmd);
    check_one_error_line(r);
    CHECK(contains(r.err, "'" + dir.file("run") + "' is in use by another lagrad process"));
    CHECK(checkpoints(dir).empty());
  }
  const Run ok = run_tool(dir, cmd);
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  // Written atomically: the config as loaded (dataset_dir resolved), whole.
  CHECK(read_text(dir.file("run/config.yaml")) == load_train_config(dir.file("cfg.yaml")).source_text);
}

TEST_CASE("train faults: a checkpoint whose step is past max_iter ends the run at once") {
  TempDir dir("faults_step");
  const std::string cmd = setup(dir, 1);
  REQUIRE(run_tool(dir, cmd).exit_code == 0);
  Checkpoint c = load_checkpoint(latest_checkpoint(dir.file("run")));
  c.step = std::int64_t{1} << 62;  // skipping the data stream to this batch used to hang
  save_checkpoint(dir.file("run/checkpoints/ckpt-4611686018427387904.lagrad"), c);
  const auto t0 = std::chrono::steady_clock::now();
  const Run r = run_tool(dir, cmd);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "nothing to do: the checkpoint's step 4611686018427387904 is already at or past max_iter 1"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
}

TEST_CASE("train faults: non-finite training stops naming the step and never writes a NaN checkpoint") {
  TempDir dir("faults_nan");
  const Run r = run_tool(dir, setup(dir, 6, "1e30"));
  INFO(r.err);
  CHECK(r.exit_code == 1);
  // Which check fires first depends on the numbers: the loss, a gradient, a parameter, or the
  // next step's positions; each names the step.
  CHECK(contains(r.err, "lagrad: error: train: "));
  CHECK((contains(r.err, "became non-finite at step") || contains(r.err, ": step 2: ")));
  CHECK(contains(r.err, "non-finite"));
  for (const auto& p : checkpoints(dir)) {
    CAPTURE(p);
    for (const auto& [name, t] : load_checkpoint(p).model)
      for (float v : t.to_vector()) REQUIRE(std::isfinite(v));
  }

  // A NaN checkpoint left by an older build is not resumed from.
  TempDir dir2("faults_nan2");
  const std::string cmd = setup(dir2, 2);
  REQUIRE(run_tool(dir2, cmd + " --max-iter 1").exit_code == 0);
  const std::string newest = latest_checkpoint(dir2.file("run"));
  Checkpoint c = load_checkpoint(newest);
  c.model[1].second.data()[0] = std::numeric_limits<float>::quiet_NaN();
  save_checkpoint(newest, c);
  const Run resumed = run_tool(dir2, cmd);
  check_one_error_line(resumed);
  CHECK(contains(resumed.err, "tensor '" + c.model[1].first + "' holds a non-finite value (element 0); not resuming"));
}

TEST_CASE("train faults: temporaries of a killed run are removed at start") {
  TempDir dir("faults_tmp");
  const std::string cmd = setup(dir, 2);
  REQUIRE(run_tool(dir, cmd + " --max-iter 1").exit_code == 0);
  std::ofstream(dir.file("run/checkpoints/ckpt-00000002.lagrad.tmp.99999.0")) << "partial";
  std::ofstream(dir.file("run/config.yaml.tmp.99999.3")) << "partial";
  const Run r = run_tool(dir, cmd);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_FALSE(fs::exists(dir.file("run/checkpoints/ckpt-00000002.lagrad.tmp.99999.0")));
  CHECK_FALSE(fs::exists(dir.file("run/config.yaml.tmp.99999.3")));
}

TEST_CASE("train faults: readers skip a checkpoint pruned between listing and opening") {
  TempDir dir("faults_prune");
  const std::string cmd = setup(dir, 2);
  REQUIRE(run_tool(dir, cmd).exit_code == 0);
  // A newest name that vanishes when opened (a dangling link), as a file pruned meanwhile.
  fs::create_symlink(dir.file("gone.lagrad"), dir.file("run/checkpoints/ckpt-00000009.lagrad"));
  Checkpoint c;
  const std::string path = load_newest_checkpoint(dir.file("run"), c);
  CHECK(fs::path(path).filename() == "ckpt-00000002.lagrad");
  CHECK(c.step == 2);
  const Run info = run_tool(dir, "evaluate " + quoted(dir.file("run")) + " --dataset " + quoted(dir.file("data")));
  CHECK_FALSE(contains(info.err, "cannot open checkpoint"));
}

TEST_CASE("train faults: directories where files are expected are named in lagrad's words") {
  TempDir dir("faults_msgs");
  const Run info = run_tool(dir, "info " + quoted(dir.path().string()));
  check_one_error_line(info);
  // info takes a training directory; a folder without checkpoints is named as such.
  CHECK(contains(info.err, "no checkpoint in training directory '" + dir.path().string() + "'"));
  const Run train = run_tool(dir, "train " + quoted(dir.path().string()));
  check_one_error_line(train);
  CHECK(contains(train.err, "config '" + dir.path().string() + "': is a directory, expected a file"));
  const Run import = run_tool(dir, "import " + quoted(dir.path().string()) + " -o " + quoted(dir.file("x.lagrad")));
  check_one_error_line(import);
  CHECK(contains(import.err, "'" + dir.path().string() + "': is a directory, expected a weights file"));
  // Library wording ("Failed opening file ... for writing", "filesystem error: ...") stays out.
  const Run log = run_tool(dir, "--log-file " + quoted(dir.path().string()) + " info " + quoted(dir.file("x")));
  check_one_error_line(log);
  CHECK(contains(log.err, "--log-file: cannot open '" + dir.path().string() + "' for writing (Is a directory)"));
  std::ofstream(dir.file("file")) << "x";
  std::ofstream(dir.file("cube.obj")) << "v 0 0 0\nv 0.1 0 0\nv 0 0.1 0\nv 0.1 0.1 0\nv 0 0 0.1\nv 0.1 0 0.1\n"
                                          "v 0 0.1 0.1\nv 0.1 0.1 0.1\nf 1 3 4 2\nf 5 6 8 7\nf 1 2 6 5\n"
                                          "f 3 7 8 4\nf 1 5 7 3\nf 2 4 8 6\n";
  std::ofstream(dir.file("scene.json")) << R"({"fluids": [{"path": "cube.obj"}]})";
  const Run gen = run_tool(dir, "generate --scene " + quoted(dir.file("scene.json")) + " --frames 2 --output " +
                                    quoted(dir.file("file/sub")));
  check_one_error_line(gen);
  CHECK(contains(gen.err, "generate: cannot create '" + dir.file("file/sub") + "' (Not a directory)"));
}
