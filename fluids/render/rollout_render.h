#pragma once
// Draws every frame of a rollout to frame_NNNN.png with one camera and one colour scale, so that
// the pictures play as a film.
#include <functional>
#include <string>
#include <vector>

#include "../io/rollout_reader.h"
#include "point_renderer.h"

namespace lagrad {

struct RolloutRenderOptions {
  RenderOptions view;     // view.max_speed <= 0: the 99th percentile of the speeds drawn
  int every = 1;          // draw frames 0, every, 2 every, ...
  bool boundary = true;   // draw the boundary particles
};

struct RolloutRenderResult {
  int frames = 0;           // pictures written
  float max_speed = 0.0f;   // the top of the colour scale
  std::vector<std::string> files;
};

// The frames drawn with `options`: 0, every, 2 every, ... below reader.num_frames().
std::vector<int> frames_to_render(const RolloutReader& reader, int every);
// The camera's box: the boundary and the first frame's fluid (fluid leaving the scene later does
// not zoom the camera out).
SceneBounds rollout_bounds(const RolloutReader& reader);
// The 99th percentile of the particle speeds over `frames` (1 when nothing moves).
float rollout_speed_scale(const RolloutReader& reader, const std::vector<int>& frames);

// Writes out_dir/frame_NNNN.png (NNNN the frame's number) for each frame drawn; out_dir must exist.
// `progress(done, total)` is called after each picture when set.
RolloutRenderResult render_rollout(const RolloutReader& reader, const std::string& out_dir,
                                   const RolloutRenderOptions& options,
                                   const std::function<void(int, int)>& progress = {});

}  // namespace lagrad
