// `lagrad run -o DIR` into a folder that already holds a rollout.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli_util.h"
#include "fluids/io/rollout_folder.h"
#include "optim/checkpoint.h"

using namespace lagrad;
using namespace lagrad::test;
namespace fs = std::filesystem;

namespace {
const std::string kWeights = LAGRAD_DATA_DIR "/dlf_pretrained/pretrained_model_weights.pt";
const std::string kFixture = LAGRAD_SOURCE_DIR "/tests/fluids/data/dlf_current.msgpack.zst";
}  // namespace

TEST_CASE("rollout_folder: a rollout's own files, and nothing else") {
  CHECK(rollout_frame_name(7) == "fluid_0007.ply");
  CHECK(rollout_frame_name(12345) == "fluid_12345.ply");
  for (const char* f : {"fluid_0000.ply", "fluid_12345.ply", "boundary.ply", "rollout.msgpack.zst"})
    CHECK_MESSAGE(is_rollout_file(f), f);
  for (const char* f : {"fluid_.ply", "fluid_12.ply", "fluid_00a1.ply", "fluid_0001.ply.bak", "notes.txt", "frame_0000.png"})
    CHECK_MESSAGE(!is_rollout_file(f), f);
}

TEST_CASE("cli: run refuses a folder holding a rollout unless --overwrite, which removes only the rollout's files") {
  TempDir dir("cli_run_output");
  REQUIRE(run_tool(dir, "import " + quoted(kWeights) + " -o " + quoted(dir.file("model.lagrad"))).exit_code == 0);
  const std::string base = "run " + quoted(dir.file("model.lagrad")) + " --dataset-file " + quoted(kFixture) + " -o " +
                           quoted(dir.file("out"));
  const Run first = run_tool(dir, base + " -n 3 --write-dataset");
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  std::ofstream(dir.file("out/notes.txt")) << "mine\n";
  const auto before = fs::last_write_time(dir.file("out/fluid_0001.ply"));

  const Run refused = run_tool(dir, base + " -n 1");
  check_one_error_line(refused);
  CHECK(contains(refused.err, "already holds a rollout"));
  CHECK(contains(refused.err, "--overwrite"));
  CHECK(fs::exists(dir.file("out/fluid_0003.ply")));
  CHECK(fs::last_write_time(dir.file("out/fluid_0001.ply")) == before);

  const Run over = run_tool(dir, base + " -n 1 --overwrite");
  INFO(over.err);
  REQUIRE(over.exit_code == 0);
  CHECK(fs::exists(dir.file("out/fluid_0001.ply")));
  CHECK_FALSE(fs::exists(dir.file("out/fluid_0002.ply")));
  CHECK_FALSE(fs::exists(dir.file("out/fluid_0003.ply")));
  CHECK_FALSE(fs::exists(dir.file("out/rollout.msgpack.zst")));
  CHECK(fs::exists(dir.file("out/boundary.ply")));
  CHECK(read_text(dir.file("out/notes.txt")) == "mine\n");
  CHECK(rollout_files(dir.file("out")).size() == 3);  // boundary + frames 0 and 1
}

TEST_CASE("cli: run and evaluate with a checkpoint of another model say so in one line") {
  TempDir dir("cli_run_not_dlf");
  Checkpoint other;
  other.model = {{"fc1.weight", Tensor::zeros({4, 2})}, {"fc1.bias", Tensor::zeros({4})}};
  save_checkpoint(dir.file("mlp.lagrad"), other);
  const Run r = run_tool(dir, "run " + quoted(dir.file("mlp.lagrad")) + " --dataset-file " + quoted(kFixture) + " -o " +
                                  quoted(dir.file("out")));
  check_one_error_line(r);
  CHECK(contains(r.err, "is not a DeepLagrangianFluids model: none of its 2 tensors (fc1.weight, fc1.bias)"));
  CHECK_FALSE(contains(r.err, "missing"));
  CHECK_FALSE(fs::exists(dir.file("out")));

  other.metadata["kind"] = "mlp";
  save_checkpoint(dir.file("kind.lagrad"), other);
  const Run k = run_tool(dir, "evaluate " + quoted(dir.file("kind.lagrad")) + " --dataset " + quoted(dir.file("nodata")));
  check_one_error_line(k);
  // The dataset is looked at first; with one, the model's kind is named.
  fs::create_directories(dir.path() / "data" / "valid");
  fs::copy_file(kFixture, dir.path() / "data" / "valid" / "a.msgpack.zst");
  const Run k2 = run_tool(dir, "evaluate " + quoted(dir.file("kind.lagrad")) + " --dataset " + quoted(dir.file("data")) +
                                   " --frame-skip 3");
  check_one_error_line(k2);
  CHECK(contains(k2.err, "is not a DeepLagrangianFluids model (its kind is 'mlp'"));
}
