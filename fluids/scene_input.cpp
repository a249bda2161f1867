#include "fluids/scene_input.h"

#include <stdexcept>

#include "fluids/dataset_file.h"

namespace lagrad {

InitialState initial_state_from_dataset_file(const std::string& path) {
  Sequence seq = read_dataset_file(path);
  InitialState s;
  s.pos = std::move(seq.frames.front().pos);
  s.vel = std::move(seq.frames.front().vel);
  if (!seq.frames.front().mass.empty()) s.mass = seq.frames.front().mass.front();
  if (!seq.frames.front().viscosity.empty()) s.viscosity = seq.frames.front().viscosity.front();
  s.box = std::move(seq.box);
  s.box_normals = std::move(seq.box_normals);
  return s;
}

InitialState initial_state_from_scene_json(const std::string& path) {
  // Scene JSON support lands with the simulator's scene reader (fluids/sph/).
  throw std::runtime_error("run: scene JSON input is not available in this build yet ('" + path + "')");
}

}  // namespace lagrad
