// `lagrad --version`, unknown commands, and the version recorded in checkpoints.
#include <doctest/doctest.h>

#include <string>

#include "cli_util.h"
#include "lagrad/version.h"
#include "optim/checkpoint.h"

using namespace lagrad;
using namespace lagrad::test;

TEST_CASE("cli: --version prints the project version") {
  TempDir dir("cli_version");
  const Run r = run_tool(dir, "--version");
  CHECK(r.exit_code == 0);
  CHECK(r.out == std::string("lagrad ") + LAGRAD_VERSION_STRING + "\n");
  CHECK(std::string(version()) == LAGRAD_VERSION_STRING);
  CHECK(contains(run_tool(dir, "--help").out, "--version"));
}

TEST_CASE("cli: an unknown command is named, with the valid ones") {
  TempDir dir("cli_unknown");
  const Run r = run_tool(dir, "--log-level warn trian config.yaml");
  check_one_error_line(r);
  CHECK(contains(r.err, "unknown command 'trian'"));
  for (const char* cmd : {"train", "evaluate", "run", "generate", "import", "info", "bench"})
    CHECK_MESSAGE(contains(r.err, cmd), "missing: " << cmd);
  const Run none = run_tool(dir, "");
  check_one_error_line(none);
  CHECK(contains(none.err, "a command is required, one of: "));
}

TEST_CASE("cli: import records the version in the checkpoint, info shows it") {
  TempDir dir("cli_version_info");
  const std::string ckpt = dir.file("dlf.lagrad");
  const Run imp = run_tool(dir, "import " + quoted(LAGRAD_DATA_DIR "/dlf_pretrained/pretrained_model_weights.pt") +
                                    " -o " + quoted(ckpt));
  REQUIRE(imp.exit_code == 0);
  CHECK(load_checkpoint(ckpt).metadata.at("lagrad_version") == LAGRAD_VERSION_STRING);
  const Run info = run_tool(dir, "info " + quoted(ckpt));
  REQUIRE(info.exit_code == 0);
  CHECK(contains(info.out, std::string("lagrad          ") + LAGRAD_VERSION_STRING + " (written by " +
                               LAGRAD_VERSION_STRING + ")\n"));
  CHECK(contains(info.out, std::string("  lagrad_version ") + LAGRAD_VERSION_STRING + "\n"));  // a space after a long key
  CHECK(contains(run_tool(dir, "info --json " + quoted(ckpt)).out,
                 std::string("\"lagrad_version\": \"") + LAGRAD_VERSION_STRING + "\""));
}
