// The main job end to end on tiny data, through the built tool: generate -> train -> resume ->
// evaluate -> run, plus bitwise determinism across resume and thread counts, and Ctrl-C.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_util.h"
#include "fluids/dataset_file.h"
#include "fluids/dataset_stream.h"
#include "fluids/ply_writer.h"
#include "fluids/train_config.h"
#include "core/random.h"
#include "lagrad/version.h"
#include "optim/checkpoint.h"

using namespace lagrad;
using namespace lagrad::test;
namespace fs = std::filesystem;

namespace {

void write_config(const TempDir& dir, const std::string& name, int threads, const std::string& extra = "",
                  int log_interval = 1) {
  std::ofstream(dir.file(name)) << "dataset_dir: data\n"
                                   "train_data:\n  shuffle_buffer: 4\n"
                                   "model:\n  layer_channels: [8, 16, 16, 3]\n"
                                   "training:\n  max_iter: 4\n  batch_size: 2\n  checkpoint_interval: 2\n"
                                   "  eval_interval: 2\n  seed: 5\n  log_interval: " << log_interval << "\n  threads: "
                                << threads << "\n" << extra << "evaluation:\n  frame_skip: 3\n";
}

// The values of `key` in the lines of metrics.jsonl that have it.
std::vector<double> metric_values(const std::string& jsonl, const std::string& key) {
  std::vector<double> out;
  std::istringstream lines(jsonl);
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find("\"" + key + "\": ");
    if (at != std::string::npos) out.push_back(std::stod(line.substr(at + key.size() + 4)));
  }
  return out;
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
  CHECK(contains(read_text(dir.file("full/metrics.jsonl")), "\"train/lr\": 0.001,"));  // as typed, not 0.00100000005
  CHECK(contains(read_text(dir.file("full/train.log")), "step 4/4 loss"));
  CHECK(load_checkpoint(dir.file("full/checkpoints/ckpt-00000004.lagrad")).metadata.at("lagrad_version") ==
        LAGRAD_VERSION_STRING);
  // The stored config names the dataset from anywhere (the original says `dataset_dir: data`).
  CHECK(parse_train_config(read_text(dir.file("full/config.yaml"))).dataset_dir == dir.file("data"));

  SUBCASE("an interrupted run resumes to bitwise the same parameters") {
    const Run part = run_tool(dir, "train " + quoted(dir.file("one.yaml")) + " --no-progress --max-iter 2 --train-dir " +
                                       quoted(dir.file("part")));
    REQUIRE(part.exit_code == 0);
    const Run rest = run_tool(dir, "train " + quoted(dir.file("one.yaml")) + " --no-progress --train-dir " + quoted(dir.file("part")));
    REQUIRE(rest.exit_code == 0);
    CHECK(contains(rest.err, "resuming from"));
    CHECK(contains(read_text(dir.file("part/train.log")), "resuming from"));
    check_bitwise_equal(model_at(dir.file("full"), 4), model_at(dir.file("part"), 4));
    // The generator's state is stored (docs/checkpoint_format.md) and the same after a resume.
    const std::string rng = load_checkpoint(dir.file("full/checkpoints/ckpt-00000004.lagrad")).rng_state;
    CHECK_FALSE(rng.empty());
    CHECK(load_checkpoint(dir.file("part/checkpoints/ckpt-00000004.lagrad")).rng_state == rng);
    CHECK_NOTHROW(Rng().set_state(rng));
    CHECK_FALSE(contains(run_tool(dir, "info " + quoted(dir.file("part"))).out, "rng state       (none)"));

    // A changed model, batch size or schedule is refused in one line naming the keys, before
    // anything is written; max_iter may change.
    std::string text = read_text(dir.file("one.yaml"));
    auto changed = [&](const std::string& from, const std::string& to) {
      std::string t = text;
      REQUIRE(t.find(from) != std::string::npos);
      std::ofstream(dir.file("changed.yaml")) << t.replace(t.find(from), from.size(), to);
      return run_tool(dir, "train " + quoted(dir.file("changed.yaml")) + " --no-progress --max-iter 6 --train-dir " +
                               quoted(dir.file("part")));
    };
    const std::string log_before = read_text(dir.file("part/train.log"));
    const Run model = changed("[8, 16, 16, 3]", "[8, 16, 3]");
    check_one_error_line(model);
    CHECK(contains(model.err, "model.layer_channels: [8, 16, 16, 3] in the checkpoint, [8, 16, 3] now"));
    const Run batch = changed("batch_size: 2\n", "batch_size: 3\n  lr_boundaries: [10]\n  lr_factors: [1, 0.5]\n");
    check_one_error_line(batch);
    CHECK(contains(batch.err, "training.batch_size: 2 in the checkpoint, 3 now"));
    CHECK(contains(batch.err, "training.lr_boundaries: [25000, 30000, 35000, 40000, 45000] in the checkpoint, [10] now"));
    CHECK(contains(batch.err, "training.lr_factors"));
    CHECK(contains(batch.err, "new --train-dir"));
    CHECK(read_text(dir.file("part/train.log")) == log_before);
    const Run longer = changed("max_iter: 4\n", "max_iter: 6\n");
    INFO(longer.err);
    CHECK(longer.exit_code == 0);
  }

  SUBCASE("the logged loss is the mean over the log interval") {
    write_config(dir, "log2.yaml", 1, "", 2);
    const Run two = run_tool(dir, "train " + quoted(dir.file("log2.yaml")) + " --no-progress --train-dir " + quoted(dir.file("log2")));
    REQUIRE(two.exit_code == 0);
    const std::vector<double> each = metric_values(read_text(dir.file("full/metrics.jsonl")), "train/loss");
    const std::vector<double> mean = metric_values(read_text(dir.file("log2/metrics.jsonl")), "train/loss");
    REQUIRE(each.size() == 4);
    REQUIRE(mean.size() == 2);
    CHECK(mean[0] == doctest::Approx((each[0] + each[1]) / 2).epsilon(1e-12));
    CHECK(mean[1] == doctest::Approx((each[2] + each[3]) / 2).epsilon(1e-12));
    CHECK(each[0] != each[1]);
    // One key style: train/... like eval/...
    CHECK_FALSE(contains(read_text(dir.file("log2/metrics.jsonl")), "\"loss\""));
    CHECK(metric_values(read_text(dir.file("log2/metrics.jsonl")), "train/lr").size() == 2);
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
    CHECK(contains(ev.err, "evaluate: 1/1 scenes (100%), took "));

    const Run run = run_tool(dir, "--log-file " + quoted(dir.file("run.log")) + " run " + quoted(dir.file("full")) +
                                      " --dataset-file " + quoted(valid[0]) + " -n 3 --write-dataset -o " +
                                      quoted(dir.file("roll")));
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(contains(run.err, "ms per step"));
    CHECK(contains(run.err, "run: 3/3 steps (100%), took "));  // progress (plain lines: not a terminal)
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
  const std::string int_err = read_text(dir.file("int.err"));
  CHECK(contains(int_err, "interrupted at step"));
  // One message for the stop, not the trainer's and the tool's.
  CHECK_FALSE(contains(int_err, "stopped at step"));
  size_t stop_lines = 0;
  for (size_t at = int_err.find("interrupted"); at != std::string::npos; at = int_err.find("interrupted", at + 1)) ++stop_lines;
  CHECK(stop_lines == 1);
  int checkpoints = 0;
  for (auto& e : fs::directory_iterator(dir.file("int/checkpoints"))) checkpoints += e.path().extension() == ".lagrad";
  CHECK(checkpoints >= 1);
}
