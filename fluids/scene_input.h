#pragma once
// Initial states for rollouts (`lagrad run`): from a dataset file's first frame or from a
// DeepLagrangianFluids scene JSON (whose emitters may add fluid at later frames).
#include <limits>
#include <string>
#include <vector>

#include "sph/scene.h"

namespace lagrad {

struct InitialState {
  std::vector<float> pos, vel;            // fluid particles at frame 0 [n, 3]
  std::vector<float> box, box_normals;    // static boundary particles and normals [k, 3]
  std::vector<sph::FluidSource> emitters; // sources that add particles after frame 0
  // Particles below this height have left the scene and are dropped (DLF's run script rule).
  float min_y = -std::numeric_limits<float>::infinity();
  float mass = 0.125f;                    // per particle (for dataset output)
  float viscosity = 0.0f;

  // Appends the particles the emitters add at `frame` (>= 1).
  void emitted_at(int frame, std::vector<float>& positions, std::vector<float>& velocities) const;
};

// The first frame of a dataset file.
InitialState initial_state_from_dataset_file(const std::string& path);
// A scene JSON: fluid bodies sampled inside their meshes, walls as surface particles with
// normals, emitters (fluids with start > 0 or a repeating step) kept for later frames.
InitialState initial_state_from_scene_json(const std::string& path);

}  // namespace lagrad
