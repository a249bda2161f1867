#pragma once
// Initial states for rollouts (`lagrad run`): from a dataset file's first frame or from a
// DeepLagrangianFluids scene JSON.
#include <string>
#include <vector>

namespace lagrad {

struct InitialState {
  std::vector<float> pos, vel;            // fluid particles [n, 3]
  std::vector<float> box, box_normals;    // static boundary particles and normals [k, 3]
  float mass = 0.125f;                    // per particle (for dataset output)
  float viscosity = 0.0f;
};

// The first frame of a dataset file.
InitialState initial_state_from_dataset_file(const std::string& path);
// A scene JSON: fluid bodies sampled inside their meshes, walls as surface particles with normals.
InitialState initial_state_from_scene_json(const std::string& path);

}  // namespace lagrad
