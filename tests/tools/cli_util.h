#pragma once
// Running the built `lagrad` tool from tests, as a user runs it.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "temp_files.h"

namespace lagrad::test {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Run {
  int exit_code = -1;
  std::string out, err;
};

// Runs `lagrad ARGS` with stdout and stderr captured in files of dir.
inline Run run_tool(const TempDir& dir, const std::string& args) {
  const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  const std::string cmd = std::string("'") + LAGRAD_TOOL_PATH + "' " + args + " >'" + out + "' 2>'" + err + "'";
  const int status = std::system(cmd.c_str());
  Run r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

inline std::string quoted(const std::string& s) { return "'" + s + "'"; }
inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The tool's error contract: exit code 1 and exactly one line, "lagrad: error: ...".
inline void check_one_error_line(const Run& r) {
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("lagrad: error: ", 0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK((!r.err.empty() && r.err.back() == '\n'));
}

}  // namespace lagrad::test
