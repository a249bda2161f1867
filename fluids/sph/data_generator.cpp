#include "fluids/sph/data_generator.h"

#include <tbb/parallel_for.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <stdexcept>

#include "core/neighbor_search.h"
#include "fluids/dataset_file.h"
#include "fluids/sph/obj_sampling.h"

namespace lagrad::sph {
namespace {

// Removes from (pos, vel) the particles closer than `radius` to an existing fluid particle:
// an emitter firing into fluid that has not moved away yet would stack particles on top of
// each other, which SPH cannot separate (the kernel gradient vanishes at distance zero).
void drop_overlapping(const std::vector<float>& existing, float radius, std::vector<float>& pos,
                      std::vector<float>& vel) {
  if (existing.empty() || pos.empty()) return;
  RadiusSearchOptions opt;
  opt.return_distances = false;
  const NeighborList nl = fixed_radius_search(existing.data(), static_cast<Index>(existing.size() / 3), pos.data(),
                                              static_cast<Index>(pos.size() / 3), radius, opt);
  size_t kept = 0;
  for (Index i = 0; i < nl.num_queries(); ++i) {
    if (nl.row_splits[i + 1] > nl.row_splits[i]) continue;
    for (int c = 0; c < 3; ++c) {
      pos[3 * kept + c] = pos[3 * i + c];
      vel[3 * kept + c] = vel[3 * i + c];
    }
    ++kept;
  }
  pos.resize(3 * kept);
  vel.resize(3 * kept);
}

}  // namespace

Sequence simulate_scene(const SceneSetup& scene, int frames, const DfsphOptions& solver_options,
                        const std::string& scene_id, const std::function<void(int)>& on_frame, double fps,
                        long* steps) {
  if (frames < 1) throw std::invalid_argument("simulate_scene: frames must be >= 1, got " + std::to_string(frames));
  if (!(fps > 0)) throw std::invalid_argument("simulate_scene: fps must be positive, got " + std::to_string(fps));
  scene.validate();
  DfsphOptions opt = solver_options;
  opt.viscosity = scene.viscosity;
  DfsphSolver solver(opt, scene.walls);
  const float d = 2.0f * opt.particle_radius;
  const float mass = scene.density * d * d * d;
  // Particles that fell out of the scene are dropped, as DLF's run script does.
  const float min_y = fall_out_height(scene.walls.positions);

  Sequence seq;
  seq.box = scene.walls.positions;
  seq.box_normals = scene.walls.normals;
  seq.frames.reserve(static_cast<size_t>(frames));
  for (int f = 0; f < frames; ++f) {
    if (f > 0) {
      solver.advance(1.0 / fps);
      solver.remove_below(min_y);
    }
    std::vector<float> pos, vel;
    scene.emitted_at(f, pos, vel);
    drop_overlapping(solver.positions(), 0.5f * d, pos, vel);
    if (!pos.empty()) solver.add_fluid(pos, vel);
    Frame frame;
    frame.pos = solver.positions();
    frame.vel = solver.velocities();
    frame.mass.assign(static_cast<size_t>(solver.num_particles()), mass);
    frame.viscosity.assign(static_cast<size_t>(solver.num_particles()), scene.viscosity);
    frame.frame_id = f;
    frame.scene_id = scene_id;
    seq.frames.push_back(std::move(frame));
    if (on_frame) on_frame(f);
  }
  if (steps) *steps = solver.steps();
  return seq;
}

void GenerateOptions::validate() const {
  auto fail = [](const std::string& what, const std::string& got) {
    throw std::invalid_argument("generate: " + what + ", got " + got);
  };
  if (output.empty()) fail("--output must name a directory", "an empty path");
  if (num_scenes < 1) fail("--scenes must be >= 1", std::to_string(num_scenes));
  if (frames < 2) fail("--frames must be >= 2", std::to_string(frames));
  if (!(valid_fraction >= 0.0 && valid_fraction <= 1.0))
    fail("--valid-fraction must be in [0, 1]", std::to_string(valid_fraction));
  if (valid_scenes > num_scenes)
    fail("--valid-scenes must be <= --scenes (" + std::to_string(num_scenes) + ")", std::to_string(valid_scenes));
  if (frames_per_file < 1) fail("--frames-per-file must be >= 1", std::to_string(frames_per_file));
  if (compression_level < 1 || compression_level > 22)
    fail("--compression-level must be in [1, 22]", std::to_string(compression_level));
  // The options the command line exposes are checked here so that errors name the flags.
  if (scene.min_particles < 1) fail("--min-particles must be >= 1", std::to_string(scene.min_particles));
  if (scene.max_particles < scene.min_particles)
    fail("--max-particles must be >= --min-particles (" + std::to_string(scene.min_particles) + ")",
         std::to_string(scene.max_particles));
  if (scene.max_bodies < 1 || scene.max_bodies > 16)
    fail("--max-bodies must be in [1, 16]", std::to_string(scene.max_bodies));
  if (scene.max_obstacles < 0 || scene.max_obstacles > 16)
    fail("--max-obstacles must be in [0, 16]", std::to_string(scene.max_obstacles));
  if (!(solver.max_density_error > 0.0f && solver.max_density_error <= 1.0f))
    fail("--max-density-error must be in (0, 1]", std::to_string(solver.max_density_error));
  scene.validate();
  solver.validate();
}

int GenerateOptions::num_valid() const {
  if (valid_scenes >= 0) return valid_scenes;
  if (valid_fraction <= 0.0 || num_scenes < 2) return 0;
  // At least one validation scene, and at least one training scene.
  return std::min(num_scenes - 1, std::max(1, static_cast<int>(std::lround(valid_fraction * num_scenes))));
}

std::uint64_t scene_seed(std::uint64_t seed, int index) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (static_cast<std::uint64_t>(index) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::vector<SceneReport> generate_dataset(const GenerateOptions& options, const ProgressCallback& progress) {
  options.validate();
  namespace fs = std::filesystem;
  const int n_valid = options.num_valid();
  const int n_train = options.num_scenes - n_valid;
  // Unreadable meshes are reported before any folder is created.
  for (const auto* paths : {&options.scene.fluid_objs, &options.scene.obstacle_objs})
    for (const auto& p : *paths) load_obj(p);
  for (const char* split : {"train", "valid"}) {
    std::error_code ec;
    fs::create_directories(fs::path(options.output) / split, ec);
    if (ec)
      throw std::runtime_error("generate: cannot create '" + (fs::path(options.output) / split).string() +
                               "': " + ec.message());
  }
  std::vector<SceneReport> reports(static_cast<size_t>(options.num_scenes));
  const long total_frames = static_cast<long>(options.num_scenes) * options.frames;
  long done_frames = 0;
  std::mutex progress_mutex;
  DatasetWriteOptions write_options;
  write_options.set_compression_level(options.compression_level);
  const int splits = std::max(1, (options.frames + options.frames_per_file / 2) / options.frames_per_file);

  auto generate_one = [&](int i) {
    const auto t0 = std::chrono::steady_clock::now();
    SceneReport& rep = reports[static_cast<size_t>(i)];
    char name[32];
    std::snprintf(name, sizeof(name), "sim_%04d", i);
    rep.name = name;
    rep.split = i < n_train ? "train" : "valid";
    const SceneSetup scene = sample_random_scene(options.scene, scene_seed(options.seed, i));
    const Sequence seq = simulate_scene(scene, options.frames, options.solver, rep.name, [&](int) {
      if (!progress) return;
      std::lock_guard<std::mutex> lock(progress_mutex);
      progress(++done_frames, total_frames);
    }, 50.0, &rep.steps);
    rep.particles = static_cast<Index>(seq.frames.back().num_particles());
    rep.frames = options.frames;
    rep.files = write_sequence_files((fs::path(options.output) / rep.split / rep.name).string(), seq,
                                     std::min(splits, options.frames), write_options);
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  // No exception may cross the parallel loop: TBB would cancel the loop's task group, which
  // silently cuts short the nested parallel loops of the scenes still simulating (they then read
  // half-filled results). Each scene keeps its error; the first in index order is rethrown.
  std::vector<std::exception_ptr> errors(static_cast<size_t>(options.num_scenes));
  std::atomic<bool> failed{false};
  tbb::parallel_for(0, options.num_scenes, 1, [&](int i) {
    if (failed.load()) return;  // a scene already failed: start no new ones
    try {
      generate_one(i);
    } catch (...) {
      errors[static_cast<size_t>(i)] = std::current_exception();
      failed = true;
    }
  });
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  return reports;
}

}  // namespace lagrad::sph
