// `lagrad render`: PNG pictures of a rollout, read back with libpng.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "cli_util.h"
#include "fluids/dataset_file.h"
#include "fluids/io/png_file.h"
#include "fluids/io/rollout_folder.h"
#include "fluids/ply_writer.h"

using namespace lagrad;
using namespace lagrad::test;
namespace fs = std::filesystem;

namespace {

// A tiny rollout folder as `lagrad run` writes it: a floor and a block of fluid falling onto it,
// faster each frame.
void write_tiny_rollout(const std::string& dir, int frames) {
  fs::create_directories(dir);
  std::vector<float> floor, normals;
  for (int i = 0; i < 20; ++i)
    for (int k = 0; k < 20; ++k) {
      floor.insert(floor.end(), {0.05f * i, 0.0f, 0.05f * k});
      normals.insert(normals.end(), {0.0f, 1.0f, 0.0f});
    }
  write_ply(dir + "/boundary.ply", {&floor, nullptr, &normals});
  for (int f = 0; f < frames; ++f) {
    std::vector<float> pos, vel;
    for (int i = 0; i < 6; ++i)
      for (int j = 0; j < 6; ++j)
        for (int k = 0; k < 6; ++k) {
          pos.insert(pos.end(), {0.35f + 0.05f * i, 0.4f + 0.05f * j - 0.02f * f, 0.35f + 0.05f * k});
          vel.insert(vel.end(), {0.0f, -0.5f * f - 0.1f * j, 0.0f});
        }
    char name[32];
    std::snprintf(name, sizeof name, "/fluid_%04d.ply", f);
    write_ply(dir + name, {&pos, &vel, nullptr});
  }
}

// Pixels that differ from the picture's top-left (background) pixel, and distinct colours.
void count_content(const RgbImage& img, size_t& non_background, size_t& colours) {
  std::set<long> distinct;
  non_background = 0;
  for (size_t p = 0; p < img.rgb.size(); p += 3) {
    const long c = img.rgb[p] << 16 | img.rgb[p + 1] << 8 | img.rgb[p + 2];
    distinct.insert(c);
    const int dr = std::abs(img.rgb[p] - img.rgb[0]), dg = std::abs(img.rgb[p + 1] - img.rgb[1]),
              db = std::abs(img.rgb[p + 2] - img.rgb[2]);
    non_background += dr + dg + db > 60;
  }
  colours = distinct.size();
}

}  // namespace

TEST_CASE("cli: render draws a rollout folder as PNGs of the requested size, not blank") {
  TempDir dir("cli_render");
  write_tiny_rollout(dir.file("roll"), 3);
  const Run r = run_tool(dir, "render " + quoted(dir.file("roll")) + " -o " + quoted(dir.file("pics")) +
                                  " --width 96 --height 64 --azimuth 45 --elevation 30 --point-size 4");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.err, "3 pictures of 96x64 pixels"));
  for (const char* name : {"frame_0000.png", "frame_0001.png", "frame_0002.png"}) {
    CAPTURE(name);
    const RgbImage img = read_png(dir.file(std::string("pics/") + name));
    CHECK(img.width == 96);
    CHECK(img.height == 64);
    REQUIRE(img.rgb.size() == 96u * 64u * 3u);
    size_t drawn = 0, colours = 0;
    count_content(img, drawn, colours);
    CHECK(drawn > 200);     // the block covers a good part of the picture
    CHECK(colours > 20);    // shaded, coloured by speed: not a flat fill
  }
  // The fluid moves between frames: the pictures differ.
  CHECK(read_png(dir.file("pics/frame_0000.png")).rgb != read_png(dir.file("pics/frame_0002.png")).rgb);

  SUBCASE("an existing picture folder needs --overwrite") {
    const Run again = run_tool(dir, "render " + quoted(dir.file("roll")) + " -o " + quoted(dir.file("pics")));
    check_one_error_line(again);
    CHECK(contains(again.err, "--overwrite"));
    const Run over = run_tool(dir, "render " + quoted(dir.file("roll")) + " -o " + quoted(dir.file("pics")) +
                                       " --overwrite --every 2 --width 32 --height 32");
    REQUIRE(over.exit_code == 0);
    CHECK(fs::exists(dir.file("pics/frame_0002.png")));
    CHECK_FALSE(fs::exists(dir.file("pics/frame_0001.png")));
    CHECK(read_png(dir.file("pics/frame_0000.png")).width == 32);
  }
  SUBCASE("bad options are one line, nothing written") {
    for (const std::string opt : {"--width 0", "--elevation 90", "--point-size -1", "--every 0"}) {
      CAPTURE(opt);
      const Run bad = run_tool(dir, "render " + quoted(dir.file("roll")) + " -o " + quoted(dir.file("bad")) + " " + opt);
      check_one_error_line(bad);
      CHECK_FALSE(fs::exists(dir.file("bad")));
    }
    const Run none = run_tool(dir, "render " + quoted(dir.file("pics")) + " -o " + quoted(dir.file("bad")));
    check_one_error_line(none);
    CHECK(contains(none.err, "no rollout frames"));
  }
}

TEST_CASE("cli: render draws a dataset file, one picture per frame") {
  TempDir dir("cli_render_dataset");
  const std::string fixture = LAGRAD_SOURCE_DIR "/tests/fluids/data/dlf_current.msgpack.zst";
  const Run r = run_tool(dir, "render " + quoted(fixture) + " -o " + quoted(dir.file("pics")) + " --width 40 --height 30");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const size_t frames = read_dataset_file(fixture).frames.size();
  for (size_t f = 0; f < frames; ++f) {
    const RgbImage img = read_png(dir.file("pics/" + rendered_frame_name(static_cast<int>(f))));
    CHECK(img.width == 40);
    CHECK(img.height == 30);
  }
}
