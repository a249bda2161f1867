#pragma once
// Parameter initializers, by the names Keras and PyTorch users know.
//
//   zeros, ones, constant(value)
//   uniform            U(-0.05, 0.05)  (Keras' default "uniform", ContinuousConv's default)
//   normal             N(0, 0.05)
//   glorot_uniform     U(-l, l), l = sqrt(6 / (fan_in + fan_out))   (alias xavier_uniform)
//   glorot_normal      N(0, sqrt(2 / (fan_in + fan_out)))           (alias xavier_normal)
//   he_uniform         U(-l, l), l = sqrt(6 / fan_in)                (alias kaiming_uniform)
//   he_normal          N(0, sqrt(2 / fan_in))                        (alias kaiming_normal)
#include <string>

#include "../core/random.h"
#include "../core/tensor.h"

namespace lagrad {

struct Initializer {
  std::string name = "zeros";
  float value = 0.0f;  // for "constant"
  Initializer() = default;
  Initializer(const char* n) : name(n) {}
  Initializer(std::string n) : name(std::move(n)) {}
  static Initializer constant(float v) {
    Initializer i("constant");
    i.value = v;
    return i;
  }
};

// Throws std::invalid_argument naming an unknown initializer and listing the known ones.
void validate_initializer(const Initializer& init);
// Fills t in place. fan_in/fan_out as the layer defines them (for a conv kernel
// [kd, kh, kw, in, out]: fan_in = kd*kh*kw*in, fan_out = kd*kh*kw*out).
void initialize(Tensor& t, const Initializer& init, Index fan_in, Index fan_out, Rng& rng = global_rng());

}  // namespace lagrad
