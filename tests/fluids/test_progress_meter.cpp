#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "fluids/evaluation.h"
#include "fluids/progress_meter.h"

using namespace lagrad;

TEST_CASE("progress_meter: plain lines with an ETA, at most one per interval, and always the last") {
  std::vector<std::string> lines;
  ProgressOptions o;
  o.interval_s = 0.0;
  o.line = [&](const std::string& l) { lines.push_back(l); };
  {
    ProgressMeter m("run", "steps", 4, o);
    for (int i = 1; i <= 4; ++i) m.update(i);
  }
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].rfind("run: 1/4 steps (25%), ETA 0:00:0", 0) == 0);
  CHECK(lines[3].rfind("run: 4/4 steps (100%), took 0:00:0", 0) == 0);

  lines.clear();
  o.interval_s = 1e9;
  ProgressMeter quiet("evaluate", "scenes", 3, o);
  for (int i = 1; i <= 3; ++i) quiet.update(i);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("evaluate: 3/3 scenes (100%)", 0) == 0);
}

TEST_CASE("progress_meter: the terminal bar redraws one line and ends it once") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  ProgressOptions o;
  o.bar = true;
  o.bar_stream = f;
  bool plain = false;
  o.line = [&](const std::string&) { plain = true; };
  {
    ProgressMeter m("run", "steps", 2, o);
    m.update(1);
    m.update(2);
    m.finish();
  }
  std::rewind(f);
  std::string text;
  for (int c; (c = std::fgetc(f)) != EOF;) text += static_cast<char>(c);
  std::fclose(f);
  CHECK_FALSE(plain);
  CHECK(text.find("\rrun [###############...............] 1/2 steps") != std::string::npos);
  CHECK(text.find("ETA ") != std::string::npos);
  CHECK(text.find("] 2/2 steps") != std::string::npos);
  CHECK(text.back() == '\n');
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
  CHECK(format_duration(3723.9) == "1:02:03");
}

TEST_CASE("evaluation: the expected scene count groups DLF's chunks of a scene") {
  CHECK(expected_scene_count({"v/sim_0001_00.msgpack.zst", "v/sim_0001_01.msgpack.zst", "v/sim_0002_00.msgpack.zst"}) == 2);
  CHECK(expected_scene_count({"v/sim_0001.msgpack.zst", "v/sim_0002.msgpack.zst"}) == 2);
  CHECK(expected_scene_count({"v/a.msgpack.zst", "v/b.msgpack.zst", "v/c.msgpack.zst"}, 2) == 2);
}
