#pragma once
// In-memory particle data of the DeepLagrangianFluids (DLF) datasets.
//
// All arrays are plain row-major float32 vectors (value semantics: safe to move between threads,
// cheap to turn into a Tensor with Tensor::from_vector({n, 3}, frame.pos)).
//
//   Frame     one simulation time step of the fluid:
//               pos, vel   [n, 3]  particle positions (m) and velocities (m/s)
//               mass       [n]     particle masses ('m' in the files)
//               viscosity  [n]     per-particle kinematic viscosity
//               frame_id           the time step index inside the scene (0, 1, 2, ...)
//               scene_id           the scene name, shared by all files of one simulation
//   Sequence  consecutive frames of one scene plus its static boundary:
//               box, box_normals [k, 3]  boundary particles and their unit normals, valid for
//                                        every frame (the walls do not move)
//             One .msgpack.zst file holds one Sequence (a chunk of a scene); the whole-sequence
//             validation reader concatenates the chunks of a scene into one Sequence.
//   Sample    a training example: `window` consecutive frames of one file (window 3 in DLF
//             training: frames[0].pos/vel are the input, frames[1].pos and frames[2].pos the
//             targets; frames[0].mass/viscosity the particle features) plus the boundary.
//             With random rotation, box, box_normals and every frame's pos and vel are rotated
//             by the same angle about the y (gravity) axis; mass and viscosity are unchanged.
//   Batch     B samples; particle counts differ between samples, so they are not stacked.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lagrad {

struct Frame {
  std::vector<float> pos;        // [n, 3]
  std::vector<float> vel;        // [n, 3]
  std::vector<float> mass;       // [n]
  std::vector<float> viscosity;  // [n]
  std::int64_t frame_id = 0;
  std::string scene_id;

  std::size_t num_particles() const { return mass.size(); }
};

struct Sequence {
  std::vector<float> box;          // [k, 3]
  std::vector<float> box_normals;  // [k, 3]
  std::vector<Frame> frames;

  std::size_t num_box_points() const { return box.size() / 3; }
};

struct Sample {
  std::vector<float> box;          // [k, 3], rotated with the sample
  std::vector<float> box_normals;  // [k, 3], rotated with the sample
  std::vector<Frame> frames;       // `window` consecutive frames, same particle count
  float rotation_angle = 0.0f;     // radians about +y; 0 when rotation is off
  std::string file;                // the file the window came from
  std::size_t first_frame = 0;     // index of frames[0] inside that file

  std::size_t num_particles() const { return frames.empty() ? 0 : frames[0].num_particles(); }
};

using Batch = std::vector<Sample>;

}  // namespace lagrad
