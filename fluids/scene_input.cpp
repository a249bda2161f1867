#include "fluids/scene_input.h"

#include <stdexcept>

#include "fluids/dataset_file.h"
#include "fluids/sph/scene_json.h"

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
  const sph::SceneSetup scene = sph::load_scene_json(path);
  InitialState s;
  scene.emitted_at(0, s.pos, s.vel);  // the bodies present at the first frame
  if (s.pos.empty())
    throw std::runtime_error("scene '" + path + "' has no fluid at frame 0 (emitters starting later are not run)");
  s.box = scene.walls.positions;
  s.box_normals = scene.walls.normals;
  s.mass = scene.density * 0.05f * 0.05f * 0.05f;
  s.viscosity = scene.viscosity;
  return s;
}

}  // namespace lagrad
