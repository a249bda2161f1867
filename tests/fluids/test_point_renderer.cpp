#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "fluids/io/png_file.h"
#include "fluids/render/point_renderer.h"

using namespace lagrad;

namespace {
const std::uint8_t* pixel(const RgbImage& img, int x, int y) { return &img.rgb[(static_cast<size_t>(y) * img.width + x) * 3]; }
}  // namespace

TEST_CASE("point_renderer: a particle at the scene's centre lands in the picture's centre, coloured by speed") {
  SceneBounds b;
  b.add({-1, -1, -1, 1, 1, 1});
  RenderOptions o;
  o.set_size(41, 31);
  o.point_size = 5;
  o.max_speed = 2;
  const RgbImage empty = render_points({}, {}, {}, b, o);
  const RgbImage slow = render_points({0, 0, 0}, {0, 0, 0}, {}, b, o);
  const RgbImage fast = render_points({0, 0, 0}, {0, 3, 0}, {}, b, o);
  REQUIRE(slow.rgb.size() == 41u * 31u * 3u);
  // The centre pixel changes; a corner keeps the background.
  CHECK(std::vector<std::uint8_t>(pixel(slow, 20, 15), pixel(slow, 20, 15) + 3) !=
        std::vector<std::uint8_t>(pixel(empty, 20, 15), pixel(empty, 20, 15) + 3));
  CHECK(std::vector<std::uint8_t>(pixel(slow, 0, 0), pixel(slow, 0, 0) + 3) ==
        std::vector<std::uint8_t>(pixel(empty, 0, 0), pixel(empty, 0, 0) + 3));
  // At rest: blue dominates; at or above max_speed: warm (red over blue).
  CHECK(pixel(slow, 20, 15)[2] > pixel(slow, 20, 15)[0]);
  CHECK(pixel(fast, 20, 15)[0] > pixel(fast, 20, 15)[2]);
  CHECK(speed_colour(0.0f)[2] > speed_colour(0.0f)[0]);
  CHECK(speed_colour(5.0f) == speed_colour(1.0f));  // clamped

  RenderOptions bad = o;
  bad.elevation_deg = 90;
  CHECK_THROWS_WITH_AS(validate_render_options(bad), "render: elevation must be in (-90, 90) degrees, got 90.000000",
                       std::invalid_argument);
  CHECK_THROWS_AS(render_points({0, 0}, {}, {}, b, o), std::invalid_argument);
}

TEST_CASE("png_file: an image round-trips through libpng") {
  RgbImage img;
  img.width = 5;
  img.height = 3;
  for (int i = 0; i < 15; ++i) img.rgb.insert(img.rgb.end(), {static_cast<std::uint8_t>(i * 17), 7, 255});
  const std::string path =
      (std::filesystem::temp_directory_path() / ("lagrad_png_" + std::to_string(::getpid()) + ".png")).string();
  write_png(path, img);
  const RgbImage back = read_png(path);
  CHECK(back.width == 5);
  CHECK(back.height == 3);
  CHECK(back.rgb == img.rgb);
  std::filesystem::remove(path);
  CHECK_THROWS_AS(read_png(path), std::runtime_error);
  img.rgb.pop_back();
  CHECK_THROWS_AS(write_png(path, img), std::invalid_argument);
}
