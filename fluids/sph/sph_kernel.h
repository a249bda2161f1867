#pragma once
// The cubic spline SPH kernel in the form SPlisHSPlasH uses: the support radius h is the
// distance where the kernel reaches zero (h = 4 * particle radius = 2 * particle spacing), so
// the classic smoothing length is h / 2.
//
//   q = r / h,  k = 8 / (pi h^3)
//   W(r) = k (6 q^3 - 6 q^2 + 1)   for q <= 1/2
//        = 2 k (1 - q)^3           for 1/2 < q <= 1
//        = 0                       otherwise
//
// The gradient of W(|x|) with respect to x is grad_factor(r) * x, so callers multiply by the
// pair vector they already have; at r = 0 the vector is zero and so is the gradient.
#include <cmath>

namespace lagrad::sph {

class CubicSplineKernel {
 public:
  explicit CubicSplineKernel(float support)
      : h_(support), inv_h_(1.0f / support), k_(8.0f / (kPi * support * support * support)) {}

  float support() const { return h_; }

  float value(float r) const {
    const float q = r * inv_h_;
    if (q <= 0.5f) return k_ * (6.0f * q * q * (q - 1.0f) + 1.0f);
    if (q <= 1.0f) {
      const float a = 1.0f - q;
      return 2.0f * k_ * a * a * a;
    }
    return 0.0f;
  }

  // dW/dr divided by r (finite at r = 0: the inner polynomial has no constant term).
  float grad_factor(float r) const {
    const float q = r * inv_h_;
    if (q <= 0.5f) return 6.0f * k_ * inv_h_ * inv_h_ * (3.0f * q - 2.0f);
    if (q <= 1.0f) {
      const float a = 1.0f - q;
      return -6.0f * k_ * inv_h_ * a * a / r;
    }
    return 0.0f;
  }

  float value_at_zero() const { return k_; }

 private:
  static constexpr float kPi = 3.14159265358979323846f;
  float h_, inv_h_, k_;
};

}  // namespace lagrad::sph
