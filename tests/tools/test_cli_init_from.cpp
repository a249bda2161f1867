// `lagrad train --init-from`: fine-tuning the published DLF weights on tiny generated data,
// through the built tool.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli_util.h"
#include "core/ops.h"
#include "core/tape.h"
#include "fluids/dataset_file.h"
#include "fluids/dataset_stream.h"
#include "fluids/particle_network.h"
#include "layers/losses.h"
#include "optim/checkpoint.h"

using namespace lagrad;
using namespace lagrad::test;
namespace fs = std::filesystem;

namespace {

const std::string kWeights = LAGRAD_DATA_DIR "/dlf_pretrained/pretrained_model_weights.pt";
constexpr float kLr = 0.001f;

// The default (DLF) model unless `model` says otherwise; the lr halves after the first update,
// so a schedule carried over from a source run would show in the first logged lr.
void write_config(const TempDir& dir, const std::string& name, const std::string& model = "") {
  std::ofstream(dir.file(name)) << "dataset_dir: data\n"
                                   "train_data:\n  shuffle_buffer: 4\n"
                                << model
                                << "training:\n  max_iter: 2\n  batch_size: 2\n  base_lr: " << kLr
                                << "\n  lr_boundaries: [0]\n  lr_factors: [1, 0.5]\n  checkpoint_interval: 1\n"
                                   "  eval_interval: 0\n  log_interval: 1\n  seed: 5\n  threads: 2\n";
}

Checkpoint checkpoint_at(const std::string& train_dir, int step) {
  char name[64];
  std::snprintf(name, sizeof name, "ckpt-%08d.lagrad", step);
  return load_checkpoint((fs::path(train_dir) / "checkpoints" / name).string());
}

// The value of `key` in the metrics line of `step` (NaN if absent).
double metric(const std::string& train_dir, int step, const std::string& key) {
  std::ifstream in(fs::path(train_dir) / "metrics.jsonl");
  const std::string head = "{\"step\": " + std::to_string(step) + ", ";
  for (std::string line; std::getline(in, line);) {
    const auto at = line.find("\"" + key + "\": ");
    if (line.rfind(head, 0) == 0 && at != std::string::npos) return std::stod(line.substr(at + key.size() + 4));
  }
  return std::nan("");
}

// The trainer's loss on its first batch, computed here for the imported weights: the same stream
// options as the config above, two chained steps per sample, 128 * sum / batch size.
double pretrained_first_loss(const std::string& data_dir, const NamedTensors& weights) {
  StreamOptions so = train_stream_options(2, 5);
  so.shuffle_buffer = 4;
  DatasetStream stream(dataset_split_files(data_dir, "train"), so);
  const Batch batch = *stream.next();
  ParticleNetwork net;
  load_model_state(net, weights);
  NoGradGuard no_grad;
  auto rows3 = [](const std::vector<float>& v) { return Tensor::from_vector({static_cast<Index>(v.size() / 3), 3}, v); };
  double total = 0;
  for (const Sample& s : batch) {
    const Tensor box = rows3(s.box), normals = rows3(s.box_normals);
    const ParticleStep s1 = net.forward(rows3(s.frames[0].pos), rows3(s.frames[0].vel), box, normals);
    const ParticleStep s2 = net.forward(s1.pos, s1.vel, box, normals);
    const Tensor l = add(weighted_distance_loss(s1.pos, rows3(s.frames[1].pos), s1.num_fluid_neighbors),
                         weighted_distance_loss(s2.pos, rows3(s.frames[2].pos), s2.num_fluid_neighbors));
    total += mul(l, 0.5f * 128.0f / static_cast<float>(batch.size())).item();
  }
  return total;
}

struct Fixture {
  TempDir dir{"init_from"};
  const std::string ckpt = dir.file("dlf.lagrad");
  Fixture() {
    const Run gen = run_tool(dir, "generate --scenes 2 --valid-scenes 1 --frames 6 --min-particles 150 "
                                  "--max-particles 200 --seed 4 --no-progress --output " + quoted(dir.file("data")));
    INFO(gen.err);
    REQUIRE(gen.exit_code == 0);
    const Run imp = run_tool(dir, "import " + quoted(kWeights) + " -o " + quoted(ckpt));
    INFO(imp.err);
    REQUIRE(imp.exit_code == 0);
    write_config(dir, "dlf.yaml");
  }
  Run train(const std::string& out, const std::string& extra) const {
    return run_tool(dir, "train " + quoted(dir.file("dlf.yaml")) + " --no-progress --train-dir " + quoted(dir.file(out)) +
                             " " + extra);
  }
};

}  // namespace

TEST_CASE("train --init-from: starts from the imported weights with a fresh optimizer; the same command resumes") {
  Fixture f;
  const Checkpoint imported = load_checkpoint(f.ckpt);
  const std::string source = fs::absolute(f.ckpt).lexically_normal().string();

  const Run first = f.train("fine", "--max-iter 1 --init-from " + quoted(f.ckpt));
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  const std::string log = read_text(f.dir.file("fine/train.log"));
  CHECK(contains(log, "initialized from " + source + " (its step 0)"));

  // One Adam step moves each parameter by at most lr; the buffers keep the config's values,
  // which are the imported ones for the default model.
  const Checkpoint one = checkpoint_at(f.dir.file("fine"), 1);
  CHECK(one.step == 1);
  CHECK(one.optimizer_step == 1);
  CHECK(one.metadata.at("init_from") == source);
  REQUIRE(one.model.size() == imported.model.size());
  for (size_t i = 0; i < one.model.size(); ++i) {
    INFO(one.model[i].first);
    REQUIRE(one.model[i].first == imported.model[i].first);
    const std::vector<float> a = one.model[i].second.to_vector(), b = imported.model[i].second.to_vector();
    REQUIRE(a.size() == b.size());
    float worst = 0;
    for (size_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::abs(a[k] - b[k]));
    CHECK(worst <= kLr * 1.001f);
  }

  // The first loss is the published network's on that batch, far below a fresh network's.
  const double loss = metric(f.dir.file("fine"), 1, "train/loss");
  CHECK(loss == doctest::Approx(pretrained_first_loss(f.dir.file("data"), imported.model)).epsilon(1e-5));
  const Run scratch = f.train("scratch", "--max-iter 1");
  REQUIRE(scratch.exit_code == 0);
  const double scratch_loss = metric(f.dir.file("scratch"), 1, "train/loss");
  MESSAGE("first loss: init-from " << loss << ", from scratch " << scratch_loss);
  CHECK(loss * 2 < scratch_loss);  // measured 1.61 vs 4.04

  // An interrupted fine-tune: the same command without --max-iter resumes (ignoring --init-from)
  // to the parameters of an uninterrupted run.
  const Run again = f.train("fine", "--init-from " + quoted(f.ckpt));
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(contains(again.err, "resuming from"));
  CHECK(contains(again.err, "the run was initialized from " + source));
  CHECK(contains(again.err, "--init-from " + f.ckpt + " is ignored"));
  const Checkpoint two = checkpoint_at(f.dir.file("fine"), 2);
  CHECK(two.optimizer_step == 2);
  CHECK(two.metadata.at("init_from") == source);
  const Run whole = f.train("whole", "--init-from " + quoted(f.ckpt));
  REQUIRE(whole.exit_code == 0);
  const Checkpoint ref = checkpoint_at(f.dir.file("whole"), 2);
  REQUIRE(ref.model.size() == two.model.size());
  for (size_t i = 0; i < ref.model.size(); ++i) {
    INFO(ref.model[i].first);
    CHECK(two.model[i].second.to_vector() == ref.model[i].second.to_vector());
  }

  // From a training directory: its newest weights, with a fresh optimizer and schedule.
  const Run next = f.train("next", "--max-iter 1 --init-from " + quoted(f.dir.file("fine")));
  INFO(next.err);
  REQUIRE(next.exit_code == 0);
  const std::string from = fs::absolute(f.dir.file("fine/checkpoints/ckpt-00000002.lagrad")).lexically_normal().string();
  CHECK(contains(next.err, "initialized from " + from + " (its step 2)"));
  const Checkpoint c = checkpoint_at(f.dir.file("next"), 1);
  CHECK(c.step == 1);
  CHECK(c.optimizer_step == 1);
  CHECK(metric(f.dir.file("next"), 1, "train/lr") == doctest::Approx(kLr));  // the source run was at lr / 2
  CHECK(metric(f.dir.file("fine"), 2, "train/lr") == doctest::Approx(kLr / 2));
  CHECK(c.metadata.at("init_from") == from);
}

TEST_CASE("train --init-from: a mismatched model or a bad path is one error line and creates nothing") {
  Fixture f;
  write_config(f.dir, "small.yaml", "model:\n  layer_channels: [8, 16, 16, 3]\n");
  const Run small = run_tool(f.dir, "train " + quoted(f.dir.file("small.yaml")) + " --train-dir " +
                                        quoted(f.dir.file("t")) + " --init-from " + quoted(f.ckpt));
  check_one_error_line(small);
  CHECK(contains(small.err, "lagrad: error: --init-from: the model in '" + f.ckpt + "' does not match the config's: "
                            "model settings layer_channels [32, 64, 64, 3] (checkpoint) vs [8, 16, 16, 3] (config); "));
  CHECK(contains(small.err, " tensor(s) differ (checkpoint vs config): conv0_fluid.kernel [4, 4, 4, 4, 32] vs [4, 4, 4, 4, 8], "));
  CHECK(contains(small.err, "conv3.kernel [4, 4, 4, 64, 3] vs [4, 4, 4, 16, 3]"));
  CHECK_FALSE(contains(small.err, "conv3.bias"));  // same shape: not listed
  CHECK_FALSE(fs::exists(f.dir.file("t")));

  const Run missing = f.train("t", "--init-from " + quoted(f.dir.file("nope.lagrad")));
  check_one_error_line(missing);
  CHECK(missing.err == "lagrad: error: --init-from: no such file or directory '" + f.dir.file("nope.lagrad") + "'\n");
  CHECK_FALSE(fs::exists(f.dir.file("t")));

  fs::create_directories(f.dir.file("empty_run"));
  const Run empty = f.train("t", "--init-from " + quoted(f.dir.file("empty_run")));
  check_one_error_line(empty);
  CHECK(empty.err == "lagrad: error: --init-from: no checkpoint in training directory '" + f.dir.file("empty_run") + "'\n");
  CHECK_FALSE(fs::exists(f.dir.file("t")));

  std::ofstream(f.dir.file("junk.lagrad")) << "not a checkpoint";
  const Run junk = f.train("t", "--init-from " + quoted(f.dir.file("junk.lagrad")));
  check_one_error_line(junk);
  CHECK(contains(junk.err, "lagrad: error: --init-from: cannot read checkpoint '" + f.dir.file("junk.lagrad") + "'"));
  CHECK_FALSE(fs::exists(f.dir.file("t")));
}

TEST_CASE("train --init-from: other shape-free model settings are allowed and reported") {
  Fixture f;
  write_config(f.dir, "dt.yaml", "model:\n  timestep: 0.01\n");
  const Run r = run_tool(f.dir, "train " + quoted(f.dir.file("dt.yaml")) + " --no-progress --max-iter 1 --train-dir " +
                                    quoted(f.dir.file("t")) + " --init-from " + quoted(f.ckpt));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(read_text(f.dir.file("t/train.log")),
                 "--init-from: model setting timestep 0.02 (checkpoint) vs 0.01 (config); training uses "
                 "the config's"));
}
