#pragma once
// Keras-style weight penalties: l1 * sum|w| + l2 * sum w^2.
#include "../core/tensor.h"

namespace lagrad {

struct Regularizer {
  float l1 = 0.0f;
  float l2 = 0.0f;
  bool active() const { return l1 != 0.0f || l2 != 0.0f; }
  static Regularizer L1(float v) { return {v, 0.0f}; }
  static Regularizer L2(float v) { return {0.0f, v}; }
};

// The penalty as a differentiable rank-0 tensor.
Tensor regularization_penalty(const Tensor& w, const Regularizer& reg);

}  // namespace lagrad
