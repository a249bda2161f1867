#include "fluids/render/rollout_render.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "fluids/io/png_file.h"
#include "fluids/io/rollout_folder.h"

namespace lagrad {

std::vector<int> frames_to_render(const RolloutReader& reader, int every) {
  if (every < 1) throw std::invalid_argument("render: every must be >= 1, got " + std::to_string(every));
  std::vector<int> out;
  for (int i = 0; i < reader.num_frames(); i += every) out.push_back(i);
  return out;
}

SceneBounds rollout_bounds(const RolloutReader& reader) {
  SceneBounds b;
  b.add(reader.boundary());
  std::vector<float> pos, vel;
  if (reader.num_frames() > 0) {
    reader.read(0, pos, vel);
    b.add(pos);
  }
  return b;
}

float rollout_speed_scale(const RolloutReader& reader, const std::vector<int>& frames) {
  std::vector<float> speeds, pos, vel;
  for (int i : frames) {
    reader.read(i, pos, vel);
    for (size_t k = 0; k + 2 < vel.size(); k += 3) {
      const float s = std::sqrt(vel[k] * vel[k] + vel[k + 1] * vel[k + 1] + vel[k + 2] * vel[k + 2]);
      if (std::isfinite(s)) speeds.push_back(s);
    }
  }
  if (speeds.empty()) return 1.0f;
  const size_t q = std::min(speeds.size() - 1, static_cast<size_t>(0.99 * static_cast<double>(speeds.size())));
  std::nth_element(speeds.begin(), speeds.begin() + static_cast<std::ptrdiff_t>(q), speeds.end());
  return speeds[q] > 0 ? speeds[q] : 1.0f;
}

RolloutRenderResult render_rollout(const RolloutReader& reader, const std::string& out_dir,
                                   const RolloutRenderOptions& options, const std::function<void(int, int)>& progress) {
  validate_render_options(options.view);
  const std::vector<int> frames = frames_to_render(reader, options.every);
  RenderOptions view = options.view;
  if (!(view.max_speed > 0)) view.max_speed = rollout_speed_scale(reader, frames);
  const SceneBounds bounds = rollout_bounds(reader);
  const std::vector<float> none;
  const std::vector<float>& boundary = options.boundary ? reader.boundary() : none;
  RolloutRenderResult result;
  result.max_speed = view.max_speed;
  std::vector<float> pos, vel;
  for (int i : frames) {
    reader.read(i, pos, vel);
    const RgbImage img = render_points(pos, vel, boundary, bounds, view);
    const std::string path =
        (std::filesystem::path(out_dir) / rendered_frame_name(static_cast<int>(reader.frame_number(i)))).string();
    write_png(path, img);
    result.files.push_back(path);
    ++result.frames;
    if (progress) progress(result.frames, static_cast<int>(frames.size()));
  }
  return result;
}

}  // namespace lagrad
