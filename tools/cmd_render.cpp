// `lagrad render ROLLOUT -o DIR`: PNG pictures of a rollout (a `lagrad run` folder or a dataset
// file), one per frame, for looking at a simulation without Blender or ParaView.
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <filesystem>
#include <memory>

#include "fluids/io/rollout_folder.h"
#include "fluids/io/rollout_reader.h"
#include "fluids/progress_meter.h"
#include "fluids/render/rollout_render.h"
#include "registry.h"

namespace lagrad::tool {
namespace {

struct RenderArgs {
  std::string input;
  std::string output = "frames";
  RolloutRenderOptions options;
  bool no_boundary = false;
  bool overwrite = false;
  bool no_progress = false;
};

CommandRegistrar reg([](CLI::App& app, CLI::App*& sub) -> CommandRun {
  auto a = std::make_shared<RenderArgs>();
  RenderOptions& v = a->options.view;
  sub = app.add_subcommand("render", "Draw a rollout (a `lagrad run` folder or a .msgpack.zst file) as PNG pictures");
  sub->add_option("rollout", a->input, "Folder with fluid_NNNN.ply (and boundary.ply), or a dataset .msgpack.zst file")
      ->required();
  sub->add_option("-o,--output", a->output, "Folder for frame_NNNN.png (created)")->capture_default_str();
  sub->add_option("--width", v.width, "Picture width in pixels")->capture_default_str();
  sub->add_option("--height", v.height, "Picture height in pixels")->capture_default_str();
  sub->add_option("--azimuth", v.azimuth_deg, "Camera angle about the vertical axis, degrees (0: looking along -z)")
      ->capture_default_str();
  sub->add_option("--elevation", v.elevation_deg, "Camera angle above the horizontal, degrees, in (-90, 90)")
      ->capture_default_str();
  sub->add_option("--fov", v.fov_deg, "Vertical field of view, degrees")->capture_default_str();
  sub->add_option("--point-size", v.point_size, "Fluid particle diameter in pixels")->capture_default_str();
  sub->add_option("--boundary-point-size", v.boundary_point_size, "Boundary particle diameter in pixels")
      ->capture_default_str();
  sub->add_option("--max-speed", v.max_speed,
                  "Speed (m/s) at the top of the colour scale (default: the 99th percentile of the speeds drawn)");
  sub->add_option("--every", a->options.every, "Draw every k-th frame")->capture_default_str();
  sub->add_flag("--no-boundary", a->no_boundary, "Leave the boundary particles out");
  sub->add_flag("--overwrite", a->overwrite, "Replace the frame_NNNN.png pictures already in the output folder");
  sub->add_flag("--no-progress", a->no_progress, "Plain progress lines (every 10 s) instead of a progress bar");
  return [a]() {
    validate_render_options(a->options.view);
    if (a->options.every < 1)
      throw std::invalid_argument("render: --every must be >= 1, got " + std::to_string(a->options.every));
    a->options.boundary = !a->no_boundary;
    const std::vector<std::string> old = rendered_frames(a->output);
    if (!old.empty() && !a->overwrite)
      throw std::invalid_argument("render: '" + a->output + "' already holds " + std::to_string(old.size()) +
                                  " rendered frames (" + old.front() + (old.size() > 1 ? " ... " + old.back() : "") +
                                  "); pass --overwrite to replace them, or choose another -o");
    const RolloutReader reader(a->input);  // read before anything is written
    if (!old.empty()) remove_rendered_frames(a->output);
    std::filesystem::create_directories(a->output);
    ProgressOptions po;
    po.bar = !a->no_progress && ::isatty(STDERR_FILENO);
    std::unique_ptr<ProgressMeter> progress;
    const RolloutRenderResult r = render_rollout(reader, a->output, a->options, [&](int done, int total) {
      if (!progress) progress = std::make_unique<ProgressMeter>("render", "frames", total, po);
      progress->update(done);
    });
    if (progress) progress->finish();
    spdlog::info("{} pictures of {}x{} pixels (speed scale 0 to {:.3g} m/s) in {}", r.frames, a->options.view.width,
                 a->options.view.height, r.max_speed, a->output);
    return 0;
  };
});

}  // namespace
}  // namespace lagrad::tool
