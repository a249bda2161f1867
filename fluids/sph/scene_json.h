#pragma once
// The scene description of DLF's run script (scripts/scene_json_format.txt there):
//
//   { "walls":  [ {"path": "Box.obj", "translation": [0, 0, 0], "invert_normals": false} ],
//     "fluids": [ {"path": "Fluid.obj", "translation": [0, 1, 0], "velocity": [0.3, 0, 0.2],
//                  "start": 0, "stop": 1, "step": 1} ] }
//
// Walls become surface particles with normals (against the face normals, i.e. into a closed
// container with outward faces; "invert_normals" flips them, for obstacles); fluids become
// particles on a grid of spacing 2r inside the closed mesh, emitted at frames
// range(start, stop, step). Relative paths are resolved against the JSON file's directory.
// Optional lagrad extensions at the root: "viscosity" (m^2/s) and "density" (kg/m^3).
#include <string>

#include "scene.h"

namespace lagrad::sph {

// Throws std::runtime_error naming the file and the entry ("fluids[0].velocity") for
// unreadable files, missing or malformed keys, and meshes that cannot be sampled.
SceneSetup load_scene_json(const std::string& path, float particle_radius = 0.025f);

}  // namespace lagrad::sph
