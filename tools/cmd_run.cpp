// `lagrad run`: rolls a model out from an initial state and writes the frames.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/tape.h"
#include "fluids/dataset_file.h"
#include "fluids/io/rollout_folder.h"
#include "fluids/ply_writer.h"
#include "fluids/progress_meter.h"
#include "fluids/scene_input.h"
#include "model_loading.h"
#include "registry.h"

namespace lagrad::tool {
namespace {

namespace fs = std::filesystem;

struct RunArgs {
  std::string model;
  std::string scene;
  std::string dataset_file;
  std::string output = "rollout";
  int num_steps = 100;
  bool write_ply = true;
  bool write_dataset = false;
  bool overwrite = false;
  bool no_progress = false;
};

Tensor rows3(const std::vector<float>& v) { return Tensor::from_vector({static_cast<Index>(v.size() / 3), 3}, v); }

// Removes the particles with y < min_y (keeping the others' order); returns how many.
Index drop_below(float min_y, std::vector<float>& pos, std::vector<float>& vel) {
  size_t kept = 0;
  for (size_t i = 0; i < pos.size(); i += 3) {
    if (!(pos[i + 1] >= min_y)) continue;
    for (int c = 0; c < 3; ++c) {
      pos[kept + c] = pos[i + c];
      vel[kept + c] = vel[i + c];
    }
    kept += 3;
  }
  const auto dropped = static_cast<Index>((pos.size() - kept) / 3);
  pos.resize(kept);
  vel.resize(kept);
  return dropped;
}

CommandRegistrar reg([](CLI::App& app, CLI::App*& sub) -> CommandRun {
  auto a = std::make_shared<RunArgs>();
  sub = app.add_subcommand("run", "Roll a model out from a scene and write the frames");
  sub->add_option("model", a->model, "Checkpoint file or training directory")->required();
  auto* scene = sub->add_option("--scene", a->scene, "Scene JSON (DeepLagrangianFluids' run_network format)");
  auto* file = sub->add_option("--dataset-file", a->dataset_file, "Start from the first frame of a dataset file");
  scene->excludes(file);
  sub->add_option("-n,--num-steps", a->num_steps, "Simulation steps")->capture_default_str();
  sub->add_option("-o,--output", a->output, "Output directory")->capture_default_str();
  sub->add_flag("--write-ply,!--no-write-ply", a->write_ply, "Write one binary PLY per frame (default on)");
  sub->add_flag("--write-dataset", a->write_dataset, "Also write the rollout in the dataset format");
  sub->add_flag("--no-progress", a->no_progress, "Plain progress lines (every 10 s) instead of a progress bar");
  sub->add_flag("--overwrite", a->overwrite,
                "Replace the rollout files (boundary.ply, fluid_*.ply, rollout.msgpack.zst) already in the output folder");
  return [a]() {
    if (a->scene.empty() == a->dataset_file.empty())
      throw std::invalid_argument("run: give exactly one of --scene or --dataset-file");
    if (a->num_steps < 1)
      throw std::invalid_argument("run: --num-steps must be >= 1, got " + std::to_string(a->num_steps));
    if (!a->write_ply && !a->write_dataset)
      throw std::invalid_argument("run: --no-write-ply without --write-dataset would write nothing");
    // A folder holding an older rollout would mix its frames with the new ones.
    const std::vector<std::string> old = rollout_files(a->output);
    if (!old.empty() && !a->overwrite)
      throw std::invalid_argument("run: '" + a->output + "' already holds a rollout (" + std::to_string(old.size()) +
                                  " files: " + old.front() + (old.size() > 1 ? " ... " + old.back() : "") +
                                  "); pass --overwrite to replace it, or choose another -o");
    // Load everything before writing anything.
    InitialState init = a->scene.empty() ? initial_state_from_dataset_file(a->dataset_file)
                                         : initial_state_from_scene_json(a->scene);
    LoadedModel m = load_particle_network(a->model);
    if (!old.empty()) spdlog::info("removed the {} files of the previous rollout in {}", remove_rollout_files(a->output), a->output);
    std::error_code ec;  // filesystem_error's wording is not ours
    fs::create_directories(a->output, ec);
    if (ec) throw std::runtime_error("run: cannot create '" + a->output + "' (" + ec.message() + ")");
    spdlog::info("rolling out {} ({} fluid particles, {} emitters, {} boundary particles) for {} steps into {}",
                 m.checkpoint, init.pos.size() / 3, init.emitters.size(), init.box.size() / 3, a->num_steps, a->output);

    Sequence seq;
    seq.box = init.box;
    seq.box_normals = init.box_normals;
    if (a->write_ply) {
      write_ply((fs::path(a->output) / "boundary.ply").string(), {&init.box, nullptr, &init.box_normals});
    }
    const Tensor box = rows3(init.box), normals = rows3(init.box_normals);
    Tensor pos = rows3(init.pos), vel = rows3(init.vel);
    NoGradGuard no_grad;
    double compute_ms = 0.0;
    auto emit = [&](int frame, std::vector<float> p, std::vector<float> v) {
      if (a->write_ply) {
        write_ply((fs::path(a->output) / rollout_frame_name(frame)).string(), {&p, &v, nullptr});
      }
      if (a->write_dataset) {
        Frame f;
        f.pos = std::move(p);
        f.vel = std::move(v);
        f.mass.assign(f.pos.size() / 3, init.mass);
        f.viscosity.assign(f.pos.size() / 3, init.viscosity);
        f.frame_id = frame;
        f.scene_id = "lagrad_run";
        seq.frames.push_back(std::move(f));
      }
    };
    // Per step, as DLF's run script: emitters add their particles, particles that fell out of
    // the scene are dropped, then the frame is written.
    emit(0, init.pos, init.vel);
    ProgressOptions po;
    po.bar = !a->no_progress && ::isatty(STDERR_FILENO);
    ProgressMeter progress("run", "steps", a->num_steps, po);
    Index dropped = 0;
    int computed_steps = 0;
    for (int s = 1; s <= a->num_steps; ++s) {
      if (pos.dim(0) > 0) {
        const auto t0 = std::chrono::steady_clock::now();
        const ParticleStep st = m.net->forward(pos, vel, box, normals);
        compute_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        pos = st.pos;
        vel = st.vel;
        ++computed_steps;
      }
      std::vector<float> p = pos.to_vector(), v = vel.to_vector();
      const size_t before = p.size();
      init.emitted_at(s, p, v);
      const Index dropped_now = drop_below(init.min_y, p, v);
      dropped += dropped_now;
      if (p.size() != before || dropped_now > 0) {  // the particle set changed
        pos = rows3(p);
        vel = rows3(v);
      }
      emit(s, std::move(p), std::move(v));
      progress.update(s);
    }
    progress.finish();
    if (dropped > 0) spdlog::info("{} particles fell out of the scene (below y = {}) and were dropped", dropped, init.min_y);
    if (a->write_dataset) write_dataset_file((fs::path(a->output) / "rollout.msgpack.zst").string(), seq);
    spdlog::info("{:.2f} ms per step ({} particles at the end); frames in {}", compute_ms / std::max(computed_steps, 1), pos.dim(0),
                 a->output);
    return 0;
  };
});

}  // namespace
}  // namespace lagrad::tool
