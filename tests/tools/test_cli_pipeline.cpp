// The main job end to end on tiny data, through the built tool: generate -> train -> resume ->
// evaluate -> run, plus bitwise determinism across resume and thread counts, and Ctrl-C.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "cli_util.h"
#include "fluids/dataset_file.h"
#include "fluids/dataset_stream.h"
#include "fluids/ply_writer.h"
#include "optim/checkpoint.h"

using namespace lagrad;
using namespace lagrad::test;
namespace fs = std::filesystem;

namespace {

void write_config(const TempDir& dir, const std::string& name, int threads, const std::string& extra = "") {
  std::ofstream(dir.file(name)) << "dataset_dir: data\n"
                                   "train_data:\n  shuffle_buffer: 4\n"
                                   "model:\n  layer_channels: [8, 16, 16, 3]\n"
                                   "training:\n  max_iter: 4\n  batch_size: 2\n  checkpoint_interval: 2\n"
                                   "  eval_interval: 2\n  log_interval: 1\n  seed: 5\n  threads: "
                                << threads << "\n" << extra << "evaluation:\n  frame_skip: 3\n";
}

NamedTensors model_at(const std::string& train_dir, int step) {
  char name[64];
  std::snprintf(name, sizeof name, "ckpt-%08d.lagrad", step);
  return load_checkpoint((fs::path(train_dir) / "checkpoints" / name).string()).model;
}

void check_bitwise_equal(const NamedTensors& a, const NamedTensors& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(a[i].first == b[i].first);
    CHECK(a[i].second.to_vector() == b[i].second.to_vector());
  }
}

}  // namespace

TEST_CASE("pipeline: generate, train, resume, evaluate, run") {
  TempDir dir("pipeline");
  const Run gen = run_tool(dir, "generate --scenes 3 --valid-scenes 1 --frames 12 --min-particles 150 "
                                "--max-particles 250 --seed 3 --no-progress --output " + quoted(dir.file("data")));
  INFO(gen.err);
  REQUIRE(gen.exit_code == 0);
  REQUIRE(dataset_split_files(dir.file("data"), "train").size() >= 1);
  const std::vector<std::string> valid = dataset_split_files(dir.file("data"), "valid");
  REQUIRE(valid.size() >= 1);

  write_config(dir, "one.yaml", 1);
  write_config(dir, "two.yaml", 2);
  write_config(dir, "serial.yaml", 2, "  max_samples_in_flight: 1\n");
  const Run full = run_tool(dir, "train " + quoted(dir.file("one.yaml")) + " --no-progress --train-dir " + quoted(dir.file("full")));
  INFO(full.err);
  REQUIRE(full.exit_code == 0);
  CHECK(fs::exists(dir.file("full/metrics.jsonl")));
  CHECK(contains(read_text(dir.file("full/metrics.jsonl")), "\"eval/err_n1\""));
  CHECK(contains(read_text(dir.file("full/train.log")), "step 4/4 loss"));

  SUBCASE("an interrupted run resumes to bitwise the same parameters") {
    const Run part = run_tool(dir, "train " + quoted(dir.file("one.yaml")) + " --no-progress --max-iter 2 --train-dir " +
                                       quoted(dir.file("part")));
    REQUIRE(part.exit_code == 0);
    const Run rest = run_tool(dir, "train " + quoted(dir.file("one.yaml")) + " --no-progress --train-dir " + quoted(dir.file("part")));
    REQUIRE(rest.exit_code == 0);
    CHECK(contains(rest.err, "resuming from"));
    check_bitwise_equal(model_at(dir.file("full"), 4), model_at(dir.file("part"), 4));
  }

  SUBCASE("1 and 2 threads train bitwise the same") {
    const Run two = run_tool(dir, "train " + quoted(dir.file("two.yaml")) + " --no-progress --train-dir " + quoted(dir.file("two")));
    REQUIRE(two.exit_code == 0);
    check_bitwise_equal(model_at(dir.file("full"), 4), model_at(dir.file("two"), 4));
  }

  SUBCASE("samples one at a time or concurrently train bitwise the same") {
    const Run serial = run_tool(dir, "train " + quoted(dir.file("serial.yaml")) + " --no-progress --train-dir " +
                                         quoted(dir.file("serial")));
    REQUIRE(serial.exit_code == 0);
    check_bitwise_equal(model_at(dir.file("full"), 4), model_at(dir.file("serial"), 4));
  }

  SUBCASE("evaluate and run") {
    const Run ev = run_tool(dir, "evaluate " + quoted(dir.file("full")) + " --dataset " + quoted(dir.file("data")) +
                                     " --frame-skip 3 -o " + quoted(dir.file("eval.json")));
    INFO(ev.err);
    REQUIRE(ev.exit_code == 0);
    const std::string json = read_text(dir.file("eval.json"));
    CHECK(contains(json, "\"err_n1\""));
    CHECK(contains(json, "\"whole_seq_err\""));
    CHECK_FALSE(contains(json, "null"));

    const Run run = run_tool(dir, "--log-file " + quoted(dir.file("run.log")) + " run " + quoted(dir.file("full")) +
                                      " --dataset-file " + quoted(valid[0]) + " -n 3 --write-dataset -o " +
                                      quoted(dir.file("roll")));
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(contains(run.err, "ms per step"));
    CHECK(contains(read_text(dir.file("run.log")), "ms per step"));
    std::vector<float> pos, vel;
    read_ply(dir.file("roll/fluid_0003.ply"), pos, &vel);
    CHECK(pos.size() == read_dataset_file(valid[0]).frames[0].pos.size());
    CHECK(vel.size() == pos.size());
    CHECK(read_dataset_file(dir.file("roll/rollout.msgpack.zst")).frames.size() == 4);
  }
}

TEST_CASE("pipeline: a bad config is one line before any work; SIGINT writes a checkpoint") {
  TempDir dir("pipeline_errors");
  std::ofstream(dir.file("bad.yaml")) << "dataset_dir: data\ntraining:\n  batch_size: 0\n";
  const Run bad = run_tool(dir, "train " + quoted(dir.file("bad.yaml")) + " --train-dir " + quoted(dir.file("t")));
  CHECK(bad.exit_code != 0);
  CHECK(bad.err == "lagrad: error: " + dir.file("bad.yaml") + ": config line 3: training.batch_size must be in [1, 4096], got '0'\n");
  CHECK_FALSE(fs::exists(dir.file("t")));

  std::ofstream(dir.file("nodata.yaml")) << "dataset_dir: missing\n";
  const Run nodata = run_tool(dir, "train " + quoted(dir.file("nodata.yaml")) + " --train-dir " + quoted(dir.file("t2")));
  CHECK(nodata.exit_code != 0);
  CHECK(std::count(nodata.err.begin(), nodata.err.end(), '\n') >= 1);
  CHECK(contains(nodata.err, "lagrad: error: "));

  // Ctrl-C: the run stops at the next step boundary, writes a checkpoint and exits 0.
  const Run gen = run_tool(dir, "generate --scenes 2 --valid-scenes 1 --frames 8 --min-particles 150 "
                                "--max-particles 200 --seed 4 --no-progress --output " + quoted(dir.file("data")));
  REQUIRE(gen.exit_code == 0);
  write_config(dir, "long.yaml", 1);
  std::ofstream(dir.file("long.yaml"), std::ios::app) << "";
  const std::string cmd = "timeout --preserve-status -s INT 3 '" + std::string(LAGRAD_TOOL_PATH) + "' train " +
                          quoted(dir.file("long.yaml")) + " --no-progress --max-iter 100000 --train-dir " +
                          quoted(dir.file("int")) + " >/dev/null 2>" + quoted(dir.file("int.err"));
  const int status = std::system(cmd.c_str());
  INFO(read_text(dir.file("int.err")));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(contains(read_text(dir.file("int.err")), "interrupted at step"));
  int checkpoints = 0;
  for (auto& e : fs::directory_iterator(dir.file("int/checkpoints"))) checkpoints += e.path().extension() == ".lagrad";
  CHECK(checkpoints >= 1);
}
