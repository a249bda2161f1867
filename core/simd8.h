#pragma once
// Internal to core: 8-lane float/int32 (and 16-lane int16) vectors in the GCC/Clang vector
// extension. The compiler lowers them to whatever the function is compiled for (2 SSE2 ops per
// operation in a baseline build, 1 AVX2 op in an AVX2 build or target clone), so one source
// serves every ISA. Vectors are passed by reference only: a 32-byte vector by value has an
// ABI that depends on -mavx, which GCC warns about.
#include <cstdint>
#include <cstring>

namespace lagrad::simd {

constexpr int kLanes = 8;
typedef float f8 __attribute__((vector_size(32)));
typedef std::int32_t i8 __attribute__((vector_size(32)));
typedef std::int16_t s16 __attribute__((vector_size(32)));

inline void load(f8& v, const float* p) { std::memcpy(&v, p, sizeof(v)); }
inline void load(i8& v, const std::int32_t* p) { std::memcpy(&v, p, sizeof(v)); }
inline void store(std::int32_t* p, const i8& v) { std::memcpy(p, &v, sizeof(v)); }
inline std::int32_t sum(const i8& v) {
  std::int32_t s = 0;
  for (int t = 0; t < kLanes; ++t) s += v[t];
  return s;
}
// Lane numbers, for masking the first n lanes: (kIota < n).
constexpr i8 kIota = {0, 1, 2, 3, 4, 5, 6, 7};

}  // namespace lagrad::simd
