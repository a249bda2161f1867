#pragma once
// The slow, obviously-correct twin of the DeepLagrangianFluids network (fluids/particle_network.h):
// one simulation step in double precision, written from the model definition (DLF's
// MyParticleNetwork), with a brute-force neighbor search and tests/layers/cconv_reference.h for
// every continuous convolution. Tests compare lagrad's float32 ParticleNetwork against it.
//
//   vel2 = vel + dt g,  pos2 = pos + dt (vel + vel2) / 2
//   feats = [1, vel2];  f0 = [conv0_obstacle(normals at box -> pos2), conv0_fluid(feats), dense0_fluid(feats)]
//   f_k = conv_k(relu f_{k-1}) + dense_k(relu f_{k-1}) (+ f_{k-1} when the widths match)
//   correction = f_last / 128;  pos' = pos2 + correction;  vel' = (pos' - pos) / dt
//
// Every convolution: the input points within r = extent / 2 of the output point (inclusive),
// except points at exactly the output point's position; neighbor importance poly6(|d|^2 / r^2)
// = clamp((1 - |d|^2/r^2)^3, 0, 1) when use_window; no normalization; align_corners; the model's
// coordinate mapping and interpolation; then + bias.
#include <map>
#include <string>
#include <vector>

#include "core/shape.h"
#include "fluids/train_config.h"
#include "optim/optimizer.h"  // NamedTensors

namespace lagrad::dlf_ref {

// The network's tensors in double, by PyTorch state-dict name (gravity, convX.kernel/bias,
// denseX.weight/bias; offsets are not used with align_corners).
struct Weights {
  struct Entry {
    Shape shape;
    std::vector<double> values;
  };
  std::map<std::string, Entry> tensors;
  // The entry, checked against the expected shape; throws std::invalid_argument naming both.
  const Entry& get(const std::string& name, const Shape& expected) const;
};

// Float32 tensors (e.g. read_torch_state_dict's) converted exactly to double.
Weights weights_from(const NamedTensors& state);
// Every parameter zero for the model config; gravity from the config.
Weights zero_weights(const ModelConfig& model = {});

// Positions as x, y, z rows.
struct Scene {
  std::vector<double> pos, vel;          // [N, 3] fluid particles
  std::vector<double> box, box_normals;  // [K, 3] static boundary particles and their normals
  Index num_fluid() const { return static_cast<Index>(pos.size() / 3); }
};

// One step, with every intermediate so a mismatch can be traced to a layer.
struct Step {
  std::vector<double> pos2, vel2;                    // after the explicit integration
  std::vector<double> conv0_obstacle, conv0_fluid, dense0_fluid;  // [N, channels[0]], biases included
  std::vector<std::vector<double>> features;         // f0 [N, 3 channels[0]], f1, ..., f_last [N, 3]
  std::vector<double> correction;                    // f_last / 128
  std::vector<double> pos, vel;                      // the step's results
  std::vector<Index> num_fluid_neighbors;            // fluid neighbors of each particle (itself excluded)
};

Step step(const Weights& weights, const Scene& scene, const ModelConfig& model = {});

// The next step's scene: the step's positions and velocities, the same boundary.
Scene advance(const Scene& scene, const Step& s);

// The filter extent as DLF computes it: radius_scale * 6 * particle_radius rounded to float32.
double filter_extent(const ModelConfig& model);

}  // namespace lagrad::dlf_ref
