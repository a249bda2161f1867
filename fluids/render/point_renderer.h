#pragma once
// A small software renderer for particle frames: every particle is a shaded sphere splat of a
// fixed size in pixels, coloured by its speed, seen by a camera orbiting the scene's centre.
// For looking at rollouts without Blender or ParaView (`lagrad render`); not a physically based
// renderer.
#include <array>
#include <cstdint>
#include <vector>

namespace lagrad {

struct RenderOptions {
  int width = 640;
  int height = 480;
  float azimuth_deg = 30.0f;    // about the y (up) axis, 0: looking along -z
  float elevation_deg = 20.0f;  // above the horizontal plane, in (-90, 90)
  float fov_deg = 40.0f;        // vertical field of view
  float point_size = 3.0f;      // fluid splat diameter in pixels
  float boundary_point_size = 1.5f;
  float max_speed = 0.0f;       // speed at the top of the colour map (<= 0: set by the caller)
  RenderOptions& set_size(int w, int h) { width = w; height = h; return *this; }
};

// The box the camera frames: min and max corners.
struct SceneBounds {
  std::array<float, 3> lo{0, 0, 0}, hi{0, 0, 0};
  bool empty = true;
  void add(const std::vector<float>& xyz);  // [n, 3]
};

// An 8-bit RGB image, rows top to bottom.
struct RgbImage {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // width * height * 3
};

// Throws std::invalid_argument naming the option when `options` is out of range
// (sizes 1..16384, point sizes in (0, 256], elevation in (-90, 90), fov in (0, 180)).
void validate_render_options(const RenderOptions& options);

// Renders one frame. `fluid_pos` [n, 3]; `fluid_vel` [n, 3] or empty (then one colour);
// `boundary_pos` [k, 3] drawn light grey. The camera frames `bounds` whole.
RgbImage render_points(const std::vector<float>& fluid_pos, const std::vector<float>& fluid_vel,
                       const std::vector<float>& boundary_pos, const SceneBounds& bounds,
                       const RenderOptions& options);

// The colour map: speed in [0, 1] (clamped) from deep blue through cyan and white-ish yellow.
std::array<float, 3> speed_colour(float t);

}  // namespace lagrad
