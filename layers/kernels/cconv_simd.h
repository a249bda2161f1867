#pragma once
// SIMD vectors for the cconv kernels (GCC/Clang vector extensions): as wide as the target
// allows — 16 floats with AVX-512, 8 with AVX, else 4 (SSE, NEON). The width is fixed at
// compile time, so every summation order in the kernels is fixed too (never dependent on data
// alignment or the thread count). Loads and stores go through memcpy: any alignment is fine.
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace lagrad::kernels {

#if defined(__AVX512F__)
constexpr int kLanes = 16;
#elif defined(__AVX__)
constexpr int kLanes = 8;
#else
constexpr int kLanes = 4;
#endif
typedef float FloatV __attribute__((vector_size(kLanes * sizeof(float))));
typedef std::int32_t IntV __attribute__((vector_size(kLanes * sizeof(std::int32_t))));  // also masks

inline FloatV loadv(const float* p) {
  FloatV v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void storev(float* p, FloatV v) { std::memcpy(p, &v, sizeof(v)); }
inline void storev(std::int32_t* p, IntV v) { std::memcpy(p, &v, sizeof(v)); }
inline FloatV splat(float x) { return FloatV{} + x; }
typedef float Float4 __attribute__((vector_size(4 * sizeof(float))));
inline Float4 load4(const float* p) {
  Float4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void store4(float* p, Float4 v) { std::memcpy(p, &v, sizeof(v)); }
inline IntV splati(std::int32_t x) { return IntV{} + x; }

// Sum of the lanes in a fixed pairwise order: fold the upper half onto the lower half until
// one lane is left (lane i += lane i + w for w = kLanes/2, ..., 1).
inline float reduce_lanes(Float4 v) { return (v[0] + v[2]) + (v[1] + v[3]); }
#if defined(__AVX__)  // the wider vectors exist only where the target has them (ABI)
typedef float Float8 __attribute__((vector_size(8 * sizeof(float))));
template <class Half, class Whole>
inline Half fold_halves(Whole v) {
  Half lo, hi;
  std::memcpy(&lo, &v, sizeof(Half));
  std::memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof(Half), sizeof(Half));
  return lo + hi;
}
inline float reduce_lanes(Float8 v) { return reduce_lanes(fold_halves<Float4>(v)); }
#endif
#if defined(__AVX512F__)
typedef float Float16 __attribute__((vector_size(16 * sizeof(float))));
inline float reduce_lanes(Float16 v) { return reduce_lanes(fold_halves<Float8>(v)); }
#endif

// Lane-wise select: mask lanes are all ones (true) or zero.
inline FloatV select(IntV mask, FloatV a, FloatV b) {
  IntV ia, ib;
  std::memcpy(&ia, &a, sizeof(a));
  std::memcpy(&ib, &b, sizeof(b));
  const IntV r = (ia & mask) | (ib & ~mask);
  FloatV out;
  std::memcpy(&out, &r, sizeof(r));
  return out;
}
inline IntV select(IntV mask, IntV a, IntV b) { return (a & mask) | (b & ~mask); }

inline FloatV minv(FloatV a, FloatV b) { return select(a < b, a, b); }
inline FloatV maxv(FloatV a, FloatV b) { return select(a > b, a, b); }
inline IntV mini(IntV a, IntV b) { return select(a < b, a, b); }
inline IntV maxi(IntV a, IntV b) { return select(a > b, a, b); }

inline FloatV absv(FloatV v) {
  IntV i;
  std::memcpy(&i, &v, sizeof(v));
  i &= splati(0x7fffffff);
  std::memcpy(&v, &i, sizeof(v));
  return v;
}
// |mag| with the sign bit of sgn (std::copysign per lane).
inline FloatV copysignv(FloatV mag, FloatV sgn) {
  IntV m, s;
  std::memcpy(&m, &mag, sizeof(m));
  std::memcpy(&s, &sgn, sizeof(s));
  const IntV r = (m & splati(0x7fffffff)) | (s & splati(static_cast<std::int32_t>(0x80000000u)));
  FloatV out;
  std::memcpy(&out, &r, sizeof(r));
  return out;
}

// Correctly rounded square root per lane (the hardware instruction).
inline FloatV sqrtv(FloatV v) {
#if defined(__AVX512F__)
  return reinterpret_cast<FloatV>(_mm512_sqrt_ps(reinterpret_cast<__m512>(v)));
#elif defined(__AVX__)
  return reinterpret_cast<FloatV>(_mm256_sqrt_ps(reinterpret_cast<__m256>(v)));
#elif defined(__SSE2__)
  return reinterpret_cast<FloatV>(_mm_sqrt_ps(reinterpret_cast<__m128>(v)));
#else
  for (int l = 0; l < kLanes; ++l) v[l] = std::sqrt(v[l]);
  return v;
#endif
}

// atan per lane for |x| <= 1 (what the cylinder-to-cube mapping needs; lanes outside give
// garbage and must be discarded). |x| > tan(pi/8) is reduced with
// atan(x) = pi/4 + atan((x - 1) / (x + 1)); then x + x^3 P(x^2) with our own minimax fit of
// P on [0, tan(pi/8)^2] (relative error 2e-8 in exact arithmetic, under 3 ulp in float).
inline FloatV atanv(FloatV x) {
  const FloatV a = absv(x);
  const IntV big = a > splat(0.41421356237f);
  const FloatV u = select(big, (a - 1.0f) / (a + 1.0f), a);
  const FloatV z = u * u;
  FloatV p = splat(0.08054238557815552f);
  p = p * z - 0.13877828419208527f;
  p = p * z + 0.19977723062038422f;
  p = p * z - 0.3333294987678528f;
  FloatV r = u + (u * z) * p;
  r = select(big, r + 0.78539816339744831f, r);
  return copysignv(r, x);
}

}  // namespace lagrad::kernels
