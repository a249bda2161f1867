#pragma once
// Seeded random tensors for the layer tests.
#include <cstdint>

#include "core/random.h"
#include "core/tensor.h"

namespace lagrad::testing {

// A tensor of the given shape with entries uniform in [lo, hi), a function of the seed.
inline Tensor uniform(Shape s, float lo, float hi, std::uint64_t seed) {
  Rng rng(seed);
  Tensor t(s);
  for (Index k = 0; k < t.numel(); ++k) t.data()[k] = rng.uniform(lo, hi);
  return t;
}

// Overwrites a parameter in place (default initializations are often too small to see much).
inline void fill_uniform(Tensor t, float lo, float hi, std::uint64_t seed) {
  t.copy_from(uniform(t.shape(), lo, hi, seed));
}

}  // namespace lagrad::testing
