#include "fluids/scene_input.h"

#include <stdexcept>

#include "fluids/dataset_file.h"
#include "fluids/sph/boundary.h"
#include "fluids/sph/scene_json.h"

namespace lagrad {

void InitialState::emitted_at(int frame, std::vector<float>& positions, std::vector<float>& velocities) const {
  for (const auto& e : emitters)
    if (frame > 0 && e.emits_at(frame)) {
      positions.insert(positions.end(), e.positions.begin(), e.positions.end());
      velocities.insert(velocities.end(), e.velocities.begin(), e.velocities.end());
    }
}

InitialState initial_state_from_dataset_file(const std::string& path) {
  Sequence seq = read_dataset_file(path);
  InitialState s;
  s.pos = std::move(seq.frames.front().pos);
  s.vel = std::move(seq.frames.front().vel);
  if (!seq.frames.front().mass.empty()) s.mass = seq.frames.front().mass.front();
  if (!seq.frames.front().viscosity.empty()) s.viscosity = seq.frames.front().viscosity.front();
  s.box = std::move(seq.box);
  s.box_normals = std::move(seq.box_normals);
  s.min_y = sph::fall_out_height(s.box);
  return s;
}

InitialState initial_state_from_scene_json(const std::string& path) {
  const sph::SceneSetup scene = sph::load_scene_json(path);
  InitialState s;
  scene.emitted_at(0, s.pos, s.vel);  // the bodies present at the first frame
  for (const auto& f : scene.fluids)
    if (f.stop > f.start + 1 || f.start > 0) s.emitters.push_back(f);
  if (s.pos.empty() && s.emitters.empty())
    throw std::runtime_error("scene '" + path + "' has no fluid: no fluid body and no emitter");
  s.box = scene.walls.positions;
  s.box_normals = scene.walls.normals;
  s.min_y = sph::fall_out_height(s.box);
  s.mass = scene.density * 0.05f * 0.05f * 0.05f;
  s.viscosity = scene.viscosity;
  return s;
}

}  // namespace lagrad
