#pragma once
// The DeepLagrangianFluids network (the PyTorch model MyParticleNetwork), one simulation step:
//
//   vel2 = vel + dt g,  pos2 = pos + dt (vel + vel2) / 2                 (explicit integration)
//   fluid_feats = [1, vel2 (, other_feats)]
//   f0 = [conv0_obstacle(box_normals at box -> pos2), conv0_fluid(fluid_feats), dense0_fluid(fluid_feats)]
//   f_{k} = conv_k(relu f_{k-1}) + dense_k(relu f_{k-1}) (+ f_{k-1} when widths match), k = 1..3
//   correction = f_3 / 128;  pos' = pos2 + correction;  vel' = (pos' - pos) / dt
//
// Every convolution: kernel 4x4x4, extent radius_scale * 6 * particle_radius (0.225), ball to
// cube volume preserving, linear, align_corners, no normalization, poly6 window, query points
// ignored. Parameter names match the PyTorch state dict (conv0_fluid.kernel, dense1.weight, ...),
// so the published weights load one to one (see fluids/pretrained_weights.h).
//
// The fluid->fluid neighbor list (and its window weights) is searched once per step and shared
// by conv0_fluid and conv1..3; the obstacle->fluid list once for conv0_obstacle.
#include <memory>
#include <vector>

#include "../core/tensor.h"
#include "train_config.h"
#include "../layers/continuous_conv.h"
#include "../layers/dense.h"
#include "../layers/module.h"

namespace lagrad {

struct ParticleStep {
  Tensor pos;                  // [N, 3] corrected positions
  Tensor vel;                  // [N, 3] velocities from the corrected positions
  Tensor num_fluid_neighbors;  // [N] fluid neighbors of each particle (no gradient); the loss uses it
};

class ParticleNetwork : public Module {
 public:
  // Creates every parameter (initialized from global_rng(): convolutions U(-0.05, 0.05),
  // dense weights glorot uniform, biases zero).
  explicit ParticleNetwork(const ModelConfig& config = {});

  // pos, vel [N, 3]; box, box_normals [K, 3] (K may be 0); other_feats [N, C] when the model has
  // other_feats_channels = C, else undefined. Gradients flow to the parameters and, through the
  // integration and the features, to pos/vel inputs that require them. Through the
  // convolutions' geometry (filter coordinates, window) only when position_gradients is on.
  ParticleStep forward(const Tensor& pos, const Tensor& vel, const Tensor& box, const Tensor& box_normals,
                       const Tensor& other_feats = Tensor());

  const ModelConfig& config() const { return config_; }
  void set_position_gradients(bool on) { position_gradients_ = on; }
  bool position_gradients() const { return position_gradients_; }

 private:
  ModelConfig config_;
  bool position_gradients_ = false;
  std::shared_ptr<ContinuousConv> conv0_fluid_, conv0_obstacle_;
  std::shared_ptr<Dense> dense0_fluid_;
  std::vector<std::shared_ptr<ContinuousConv>> convs_;
  std::vector<std::shared_ptr<Dense>> denses_;
};

}  // namespace lagrad
