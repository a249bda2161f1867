#pragma once
// Training data for the fluid network: random scenes simulated with DFSPH and written in the
// DeepLagrangianFluids format (fluids/dataset_file.h), as `lagrad generate` does.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "../frame.h"
#include "dfsph_solver.h"
#include "scene.h"

namespace lagrad::sph {

// Simulates `frames` frames of `scene` at `fps` frames per second. Frame 0 is the initial
// state; sources emit before their frame is recorded (DLF's run script does the same), except
// for particles that would land within r of fluid already there (stacked particles cannot be
// separated). Particles that fall below the walls (their lowest point minus 5% of their
// height, DLF's rule) are dropped after each frame. Each
// frame carries pos, vel, mass = density * (2r)^3, viscosity, frame_id and `scene_id`; the
// sequence's box / box_normals are the scene's walls. The solver's viscosity is the scene's.
// `on_frame(f)` is called after frame f is recorded; `steps`, if given, receives the number of
// solver time steps taken.
Sequence simulate_scene(const SceneSetup& scene, int frames, const DfsphOptions& solver,
                        const std::string& scene_id, const std::function<void(int)>& on_frame = {},
                        double fps = 50.0, long* steps = nullptr);

struct GenerateOptions {
  std::string output;          // writes <output>/train and <output>/valid
  int num_scenes = 20;
  int frames = 200;            // frames per scene, 1/50 s apart
  std::uint64_t seed = 0;
  double valid_fraction = 0.1; // share of scenes in valid/ (rounded; at least 1, and at least
                               // 1 training scene, when there are 2 scenes or more)
  int valid_scenes = -1;       // overrides valid_fraction when >= 0
  int frames_per_file = 50;    // each scene is split into files of about this many frames
  int compression_level = 3;   // zstd level of the files
  RandomSceneOptions scene;
  DfsphOptions solver;

  // Throws std::invalid_argument naming the option, the allowed range and the value.
  void validate() const;
  int num_valid() const;
};

struct SceneReport {
  std::string name;   // "sim_0007": the scene_id and the file prefix
  std::string split;  // "train" or "valid"
  Index particles = 0;
  int frames = 0;
  long steps = 0;
  double seconds = 0;
  std::vector<std::string> files;
};

// frames_done / frames_total over all scenes; called from worker threads, one call at a time.
using ProgressCallback = std::function<void(long frames_done, long frames_total)>;

// Scene i (0-based) is sample_random_scene(options.scene, scene_seed(options.seed, i)); the
// last num_valid() scenes go to valid/. Scenes run in parallel; the files are a pure function
// of the options, whatever the number of threads. Returns one report per scene, in order.
std::vector<SceneReport> generate_dataset(const GenerateOptions& options,
                                          const ProgressCallback& progress = {});

// The seed of scene i: a SplitMix64 mix of (seed, i), so scenes are independent streams.
std::uint64_t scene_seed(std::uint64_t seed, int index);

}  // namespace lagrad::sph
