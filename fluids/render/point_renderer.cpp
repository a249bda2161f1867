#include "fluids/render/point_renderer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace lagrad {

namespace {

constexpr float kPi = 3.14159265358979f;

struct Camera {
  std::array<float, 3> eye, right, up, forward;  // forward points into the scene
  float focal = 1.0f;                            // pixels per unit at depth 1
  float cx = 0, cy = 0;
};

std::array<float, 3> cross(const std::array<float, 3>& a, const std::array<float, 3>& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

Camera make_camera(const SceneBounds& b, const RenderOptions& o) {
  std::array<float, 3> centre{0, 0, 0};
  float radius = 1.0f;
  if (!b.empty) {
    float r2 = 0;
    for (int c = 0; c < 3; ++c) {
      centre[c] = 0.5f * (b.lo[c] + b.hi[c]);
      r2 += 0.25f * (b.hi[c] - b.lo[c]) * (b.hi[c] - b.lo[c]);
    }
    radius = std::max(std::sqrt(r2), 1e-3f);
  }
  const float az = o.azimuth_deg * kPi / 180.0f, el = o.elevation_deg * kPi / 180.0f;
  // Direction from the centre to the eye: azimuth 0 puts the eye on +z, looking along -z.
  const std::array<float, 3> to_eye{std::cos(el) * std::sin(az), std::sin(el), std::cos(el) * std::cos(az)};
  const float half_fov = 0.5f * o.fov_deg * kPi / 180.0f;
  const float aspect = static_cast<float>(o.width) / static_cast<float>(o.height);
  // Far enough that the bounding sphere fits the narrower field of view.
  const float half_narrow = aspect >= 1 ? half_fov : std::atan(std::tan(half_fov) * aspect);
  const float dist = radius / std::sin(half_narrow) * 1.05f;
  Camera cam;
  for (int c = 0; c < 3; ++c) {
    cam.eye[c] = centre[c] + dist * to_eye[c];
    cam.forward[c] = -to_eye[c];
  }
  cam.right = cross(cam.forward, {0.0f, 1.0f, 0.0f});
  const float rn = std::sqrt(cam.right[0] * cam.right[0] + cam.right[1] * cam.right[1] + cam.right[2] * cam.right[2]);
  for (float& v : cam.right) v /= rn;
  cam.up = cross(cam.right, cam.forward);
  cam.focal = 0.5f * static_cast<float>(o.height) / std::tan(half_fov);
  cam.cx = 0.5f * static_cast<float>(o.width);
  cam.cy = 0.5f * static_cast<float>(o.height);
  return cam;
}

// Draws shaded discs into a colour and depth buffer (nearest wins).
class Canvas {
 public:
  Canvas(int w, int h) : w_(w), h_(h), depth_(static_cast<size_t>(w) * h, std::numeric_limits<float>::infinity()),
                         colour_(static_cast<size_t>(w) * h * 3) {
    // A soft vertical gradient as the background.
    for (int y = 0; y < h; ++y) {
      const float t = static_cast<float>(y) / static_cast<float>(std::max(h - 1, 1));
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) colour_[(static_cast<size_t>(y) * w + x) * 3 + c] = 0.97f - 0.10f * t;
    }
  }

  // `shaded`: lit as a sphere; otherwise a flat disc (for small boundary dots).
  void splat(const Camera& cam, const float* p, float diameter, const std::array<float, 3>& base, bool shaded) {
    float v[3] = {p[0] - cam.eye[0], p[1] - cam.eye[1], p[2] - cam.eye[2]};
    const float z = v[0] * cam.forward[0] + v[1] * cam.forward[1] + v[2] * cam.forward[2];
    if (!(z > 1e-6f)) return;  // behind the camera (or NaN)
    const float x = v[0] * cam.right[0] + v[1] * cam.right[1] + v[2] * cam.right[2];
    const float y = v[0] * cam.up[0] + v[1] * cam.up[1] + v[2] * cam.up[2];
    const float sx = cam.cx + cam.focal * x / z, sy = cam.cy - cam.focal * y / z;
    const float r = 0.5f * diameter;
    const int x0 = std::max(0, static_cast<int>(std::floor(sx - r))), x1 = std::min(w_ - 1, static_cast<int>(std::ceil(sx + r)));
    const int y0 = std::max(0, static_cast<int>(std::floor(sy - r))), y1 = std::min(h_ - 1, static_cast<int>(std::ceil(sy + r)));
    const float r2 = std::max(r * r, 0.25f);
    for (int py = y0; py <= y1; ++py)
      for (int px = x0; px <= x1; ++px) {
        const float dx = (px + 0.5f - sx), dy = (py + 0.5f - sy);
        const float d2 = dx * dx + dy * dy;
        if (d2 > r2) continue;
        const size_t i = static_cast<size_t>(py) * w_ + px;
        if (z >= depth_[i]) continue;
        depth_[i] = z;
        // A sphere lit from the upper left of the camera: Lambert plus ambient.
        const float nz = std::sqrt(std::max(0.0f, 1.0f - d2 / r2));
        const float nx = dx / std::sqrt(r2), ny = -dy / std::sqrt(r2);
        const float lambert = std::max(0.0f, -0.35f * nx + 0.45f * ny + 0.82f * nz);
        const float shade = shaded ? 0.35f + 0.65f * lambert : 1.0f;
        for (int c = 0; c < 3; ++c) colour_[i * 3 + c] = base[c] * shade;
      }
  }

  RgbImage image() const {
    RgbImage img;
    img.width = w_;
    img.height = h_;
    img.rgb.resize(colour_.size());
    for (size_t i = 0; i < colour_.size(); ++i)
      img.rgb[i] = static_cast<std::uint8_t>(std::lround(std::clamp(colour_[i], 0.0f, 1.0f) * 255.0f));
    return img;
  }

 private:
  int w_, h_;
  std::vector<float> depth_, colour_;
};

}  // namespace

void SceneBounds::add(const std::vector<float>& xyz) {
  for (size_t i = 0; i + 2 < xyz.size(); i += 3) {
    if (!std::isfinite(xyz[i]) || !std::isfinite(xyz[i + 1]) || !std::isfinite(xyz[i + 2])) continue;
    for (int c = 0; c < 3; ++c) {
      lo[c] = empty ? xyz[i + c] : std::min(lo[c], xyz[i + c]);
      hi[c] = empty ? xyz[i + c] : std::max(hi[c], xyz[i + c]);
    }
    empty = false;
  }
}

void validate_render_options(const RenderOptions& o) {
  auto fail = [](const std::string& what, double got) {
    throw std::invalid_argument("render: " + what + ", got " + std::to_string(got));
  };
  if (o.width < 1 || o.width > 16384) fail("width must be in [1, 16384]", o.width);
  if (o.height < 1 || o.height > 16384) fail("height must be in [1, 16384]", o.height);
  if (!(o.point_size > 0 && o.point_size <= 256)) fail("point size must be in (0, 256]", o.point_size);
  if (!(o.boundary_point_size > 0 && o.boundary_point_size <= 256)) fail("boundary point size must be in (0, 256]", o.boundary_point_size);
  if (!(o.elevation_deg > -90 && o.elevation_deg < 90)) fail("elevation must be in (-90, 90) degrees", o.elevation_deg);
  if (!std::isfinite(o.azimuth_deg)) fail("azimuth must be finite", o.azimuth_deg);
  if (!(o.fov_deg > 0 && o.fov_deg < 180)) fail("field of view must be in (0, 180) degrees", o.fov_deg);
  if (!std::isfinite(o.max_speed)) fail("max speed must be finite", o.max_speed);
}

std::array<float, 3> speed_colour(float t) {
  t = std::clamp(std::isfinite(t) ? t : 1.0f, 0.0f, 1.0f);
  // Piecewise linear through deep blue, azure, cyan-white and warm yellow.
  static const float stops[4][3] = {{0.05f, 0.20f, 0.60f}, {0.10f, 0.55f, 0.90f}, {0.65f, 0.92f, 0.98f}, {1.00f, 0.85f, 0.35f}};
  const float s = t * 3.0f;
  const int k = std::min(static_cast<int>(s), 2);
  const float f = s - static_cast<float>(k);
  return {stops[k][0] + f * (stops[k + 1][0] - stops[k][0]), stops[k][1] + f * (stops[k + 1][1] - stops[k][1]),
          stops[k][2] + f * (stops[k + 1][2] - stops[k][2])};
}

RgbImage render_points(const std::vector<float>& fluid_pos, const std::vector<float>& fluid_vel,
                       const std::vector<float>& boundary_pos, const SceneBounds& bounds, const RenderOptions& o) {
  validate_render_options(o);
  if (fluid_pos.size() % 3 != 0 || boundary_pos.size() % 3 != 0 || (!fluid_vel.empty() && fluid_vel.size() != fluid_pos.size()))
    throw std::invalid_argument("render: positions and velocities must be [n, 3] of the same n, got " +
                                std::to_string(fluid_pos.size()) + " and " + std::to_string(fluid_vel.size()) + " values");
  const Camera cam = make_camera(bounds, o);
  Canvas canvas(o.width, o.height);
  const std::array<float, 3> grey{0.62f, 0.63f, 0.66f};
  for (size_t i = 0; i < boundary_pos.size(); i += 3) canvas.splat(cam, &boundary_pos[i], o.boundary_point_size, grey, false);
  const float max_speed = o.max_speed > 0 ? o.max_speed : 1.0f;
  for (size_t i = 0; i < fluid_pos.size(); i += 3) {
    float t = 0.35f;
    if (!fluid_vel.empty()) {
      const float* v = &fluid_vel[i];
      t = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) / max_speed;
    }
    canvas.splat(cam, &fluid_pos[i], o.point_size, speed_colour(t), true);
  }
  return canvas.image();
}

}  // namespace lagrad
