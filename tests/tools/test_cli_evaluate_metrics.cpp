// `lagrad evaluate --metrics`: the benchmark metrics of the whole-sequence rollouts in the JSON.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli_util.h"

using namespace lagrad::test;
namespace fs = std::filesystem;

TEST_CASE("cli: evaluate --metrics adds benchmark_metrics to the JSON; unknown names are one error line") {
  TempDir dir("cli_eval_metrics");
  fs::create_directories(dir.path() / "data" / "train");
  std::ofstream(dir.path() / "data" / "train" / "sim_0000_00.msgpack.zst", std::ios::binary)
      << read_text(LAGRAD_SOURCE_DIR "/tests/fluids/data/dlf_current.msgpack.zst");
  const std::string base = "evaluate --baseline --dataset " + quoted(dir.file("data")) + " --split train --frame-skip 3 ";
  const Run ok = run_tool(dir, base + "--metrics mse,sinkhorn,e_kin,chamfer,density");
  INFO(ok.err);
  REQUIRE(ok.exit_code == 0);
  CHECK(contains(ok.out, "\"benchmark_metrics\""));
  CHECK(contains(ok.out, "\"rollouts\": 1"));
  CHECK(contains(ok.out, "\"mse\": "));  // the fixture has 2 frames: one predicted, no horizon < 1
  CHECK(contains(ok.out, "\"sinkhorn\""));
  CHECK(contains(ok.out, "\"chamfer\""));
  CHECK(contains(ok.out, "\"density_error\""));
  const Run bad = run_tool(dir, base + "--metrics mse,emd");
  check_one_error_line(bad);
  CHECK(contains(bad.err, "unknown metric 'emd'"));
}
