// `lagrad generate --lagrangebench`: a LagrangeBench-format dataset from the command line.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "cli_util.h"
#include "fluids/io/lagrangebench.h"

using namespace lagrad;
using namespace lagrad::test;

TEST_CASE("cli: generate --lagrangebench taylor-green-3d writes metadata.json and train/valid/test.h5") {
  TempDir dir("cli_lb");
  const std::string out = dir.file("tgv");
  const Run r = run_tool(dir, "generate --lagrangebench taylor-green-3d --tgv-side 4 --frames 5 --seed 2 "
                              "--tgv-train 2 --tgv-valid 1 --tgv-test 1 -o " + quoted(out));
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.err, "not SPH"));
  const LagrangeBenchMetadata m = read_lagrangebench_metadata(out + "/metadata.json");
  CHECK(m.dim == 3);
  CHECK(m.periodic_box().size() == 3);
  const auto train = read_lagrangebench_file(out + "/train.h5");
  REQUIRE(train.size() == 2);
  CHECK(train[0].frames == 5);
  CHECK(train[0].particles == 64);
  CHECK(read_lagrangebench_file(out + "/test.h5").size() == 1);

  const Run bad = run_tool(dir, "generate --lagrangebench taylor-green-4d -o " + quoted(dir.file("x")));
  check_one_error_line(bad);
  CHECK(contains(bad.err, "taylor-green-2d or taylor-green-3d, got 'taylor-green-4d'"));
}
