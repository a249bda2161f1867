#pragma once
// A simulation scene: static walls as surface particles (the DLF `box` and `box_normals`) and
// fluid sources, plus the per-scene fluid parameters. Scenes come from a DLF scene JSON
// (scene_json.h) or are sampled at random like DLF's training data (sample_random_scene).
#include <cstdint>
#include <string>
#include <vector>

#include "../../core/shape.h"
#include "boundary.h"

namespace lagrad::sph {

// Fluid particles added at frames start, start + step, ... below stop (DLF's emitter rule;
// start 0, stop 1, step 1 is a body present from the first frame on).
struct FluidSource {
  std::vector<float> positions;   // [n, 3]
  std::vector<float> velocities;  // [n, 3]
  int start = 0;
  int stop = 1;
  int step = 1;

  Index size() const { return static_cast<Index>(positions.size() / 3); }
  bool emits_at(int frame) const {
    return frame >= start && frame < stop && (frame - start) % step == 0;
  }
};

struct SceneSetup {
  BoundaryParticles walls;         // container and obstacles, normals into the fluid
  std::vector<FluidSource> fluids;
  float viscosity = 0.01f;         // kinematic viscosity of the fluid (m^2/s)
  float density = 1000.0f;         // rest density; particle mass = density * (2r)^3

  // Appends the particles every source emits at `frame` (frame 0: the initial state).
  void emitted_at(int frame, std::vector<float>& positions, std::vector<float>& velocities) const;
  // Throws std::invalid_argument for malformed arrays or emitter ranges, naming the source.
  void validate() const;
};

struct RandomSceneOptions {
  float particle_radius = 0.025f;
  Index min_particles = 2000;  // fluid particles per scene
  Index max_particles = 8000;
  int max_bodies = 3;          // 1..max_bodies fluid bodies (boxes, spheres, OBJ volumes)
  int max_obstacles = 1;       // 0..max_obstacles obstacles standing on the floor
  std::vector<std::string> fluid_objs;     // extra fluid body shapes (closed OBJ meshes)
  std::vector<std::string> obstacle_objs;  // obstacle shapes; without any, boxes are used
  float max_speed_xz = 2.0f;   // initial body velocity components, uniform in [-max, max]
  float max_speed_y = 0.5f;

  // Throws std::invalid_argument naming the field, the allowed range and the value.
  void validate() const;
};

// A DLF-style random scene, a pure function of (options, seed): a closed box container sized
// to the fluid, optional obstacles, 1..max_bodies fluid bodies of random shape, size,
// rotation, position and velocity, dropped with a gap to every wall; total fluid particles in
// [min_particles, max_particles]. Viscosity ~ 0.01 + Exp(mean 0.05) and density ~ U(500, 2000)
// per scene, as in DLF's data generator.
SceneSetup sample_random_scene(const RandomSceneOptions& options, std::uint64_t seed);

}  // namespace lagrad::sph
