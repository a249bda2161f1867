#pragma once
// Loss functions: differentiable ops returning a rank-0 tensor. Each is one fused op (a
// deterministic double-precision reduction forward, one elementwise pass backward); gradients
// flow to pred and, when it requires one, to target.
//
// With d = pred - target over all n elements:
//   mse_loss       mean(d^2)
//   l1_loss        mean(|d|)                      (gradient sign(d), 0 at d = 0)
//   huber_loss     mean(h(d)), h = d^2 / 2 for |d| <= delta, delta (|d| - delta / 2) beyond
//                  (PyTorch's HuberLoss; delta = 1 is smooth_l1)
// Reduction::Sum replaces the mean by the sum.
//
// weighted_distance_loss (DeepLagrangianFluids' position loss), per particle i of N:
//   w_i = exp(-n_i / neighbor_scale)
//   loss = (1/N) sum_i w_i (||pred_i - target_i||^2 + 1e-9)^(gamma / 2)
// pred, target [N, D]; num_neighbors [N] (a per-particle count; it gets no gradient).
// gamma = 0.5 weighs small errors relatively more than the squared error; particles with
// many neighbors (inside the fluid) count less than those near the surface.
#include "../core/tensor.h"

namespace lagrad {

enum class Reduction { Mean, Sum };

Tensor mse_loss(const Tensor& pred, const Tensor& target, Reduction reduction = Reduction::Mean);
Tensor l1_loss(const Tensor& pred, const Tensor& target, Reduction reduction = Reduction::Mean);
// delta > 0.
Tensor huber_loss(const Tensor& pred, const Tensor& target, float delta = 1.0f,
                  Reduction reduction = Reduction::Mean);

// Defaults are DLF's; chained setters: WeightedDistanceLossOptions().gamma(1.0f).
class WeightedDistanceLossOptions {
 public:
  float gamma() const { return gamma_; }
  float neighbor_scale() const { return neighbor_scale_; }
  WeightedDistanceLossOptions& gamma(float v) { gamma_ = v; return *this; }
  WeightedDistanceLossOptions& neighbor_scale(float v) { neighbor_scale_ = v; return *this; }

 private:
  float gamma_ = 0.5f;
  float neighbor_scale_ = 40.0f;
};

// gamma > 0, neighbor_scale > 0.
Tensor weighted_distance_loss(const Tensor& pred, const Tensor& target, const Tensor& num_neighbors,
                              const WeightedDistanceLossOptions& options = {});

}  // namespace lagrad
