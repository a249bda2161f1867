// Bad input to the tool: one line "lagrad: error: ...", exit code 1, and nothing written.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli_util.h"

using namespace lagrad::test;
namespace fs = std::filesystem;

namespace {

const std::string kFixture = LAGRAD_SOURCE_DIR "/tests/fluids/data/dlf_current.msgpack.zst";

// A dataset folder with one training file (a copy of the fixture, or its first `keep` bytes).
void make_train_only_dataset(const TempDir& dir, const std::string& name, long keep = -1) {
  fs::create_directories(dir.path() / name / "train");
  std::string bytes = read_text(kFixture);
  if (keep >= 0) bytes.resize(static_cast<size_t>(keep));
  std::ofstream(dir.path() / name / "train" / "sim_0000_00.msgpack.zst", std::ios::binary) << bytes;
}

}  // namespace

TEST_CASE("cli: command-line parse errors are one line and exit 1") {
  TempDir dir("cli_parse");
  for (const std::string args : {"generate --scenes abc", "generate --no-such-flag", "train", "run model --bogus 3"}) {
    CAPTURE(args);
    const Run r = run_tool(dir, args);
    check_one_error_line(r);
  }
  CHECK(contains(run_tool(dir, "generate --scenes abc").err, "--scenes"));
  const Run help = run_tool(dir, "--help");
  CHECK(help.exit_code == 0);
  CHECK(contains(help.out, "train"));
}

TEST_CASE("cli: train reports a missing valid/ split or a truncated file before creating its directory") {
  TempDir dir("cli_train_inputs");
  make_train_only_dataset(dir, "novalid");
  std::ofstream(dir.file("novalid.yaml")) << "dataset_dir: novalid\ntraining:\n  eval_interval: 5\n";
  const Run r = run_tool(dir, "train " + quoted(dir.file("novalid.yaml")) + " --train-dir " + quoted(dir.file("t1")));
  check_one_error_line(r);
  CHECK(contains(r.err, "valid"));
  CHECK_FALSE(fs::exists(dir.file("t1")));

  make_train_only_dataset(dir, "truncated", 100);
  std::ofstream(dir.file("truncated.yaml")) << "dataset_dir: truncated\ntraining:\n  eval_interval: 0\n";
  const Run t = run_tool(dir, "train " + quoted(dir.file("truncated.yaml")) + " --train-dir " + quoted(dir.file("t2")));
  check_one_error_line(t);
  CHECK(contains(t.err, "sim_0000_00.msgpack.zst"));
  CHECK_FALSE(fs::exists(dir.file("t2")));
}

TEST_CASE("cli: evaluate checks its arguments and output path before any work") {
  TempDir dir("cli_evaluate");
  make_train_only_dataset(dir, "data");
  const std::string base = "evaluate --baseline --dataset " + quoted(dir.file("data")) + " --split train ";
  const Run scale = run_tool(dir, base + "--scale -1");
  check_one_error_line(scale);
  CHECK(contains(scale.err, "--scale"));
  const Run out = run_tool(dir, base + "-o " + quoted(dir.file("missing/eval.json")));
  check_one_error_line(out);
  CHECK(contains(out.err, "does not exist"));
  const Run both = run_tool(dir, "evaluate model.lagrad --baseline --dataset " + quoted(dir.file("data")));
  check_one_error_line(both);
  // The baseline on the fixture works and writes the JSON file.
  const Run ok = run_tool(dir, base + "--frame-skip 3 -o " + quoted(dir.file("eval.json")));
  INFO(ok.err);
  REQUIRE(ok.exit_code == 0);
  CHECK(contains(read_text(dir.file("eval.json")), "\"err_n1\""));
  CHECK(contains(ok.out, "\"frame_skip\": 3"));
  // The minimum is in --help, not only in the error.
  CHECK(contains(run_tool(dir, "evaluate --help").out, "(at least 3)"));
}

TEST_CASE("cli: generate names its flags in errors and creates nothing for a missing OBJ") {
  TempDir dir("cli_generate");
  const Run range = run_tool(dir, "generate --min-particles 500 --max-particles 100 -o " + quoted(dir.file("a")));
  check_one_error_line(range);
  CHECK(contains(range.err, "--max-particles must be >= --min-particles (500)"));
  CHECK_FALSE(fs::exists(dir.file("a")));
  const Run obj = run_tool(dir, "generate --scenes 1 --fluid-obj " + quoted(dir.file("nope.obj")) + " -o " +
                                     quoted(dir.file("b")));
  check_one_error_line(obj);
  CHECK(contains(obj.err, "nope.obj"));
  CHECK_FALSE(fs::exists(dir.file("b")));
}

TEST_CASE("cli: run refuses to write nothing") {
  TempDir dir("cli_run_args");
  const Run r = run_tool(dir, "run model.lagrad --dataset-file " + quoted(kFixture) + " --no-write-ply");
  check_one_error_line(r);
  CHECK(contains(r.err, "--no-write-ply"));
}

TEST_CASE("cli: train refuses non-finite or implausible model values before creating its directory") {
  TempDir dir("cli_train_values");
  make_train_only_dataset(dir, "data");
  for (const std::string bad : {"  gravity: [0, .nan, 0]\n", "  timestep: 1e30\n"}) {
    CAPTURE(bad);
    std::ofstream(dir.file("bad.yaml")) << "dataset_dir: data\nmodel:\n" << bad << "training:\n  eval_interval: 0\n";
    const Run r = run_tool(dir, "train " + quoted(dir.file("bad.yaml")) + " --train-dir " + quoted(dir.file("t")));
    check_one_error_line(r);
    CHECK(contains(r.err, "config line 3: model."));
    CHECK_FALSE(fs::exists(dir.file("t")));
  }
}
