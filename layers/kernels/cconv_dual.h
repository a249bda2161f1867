#pragma once
// Forward-mode dual numbers over SIMD vectors: a value and its three partial derivatives, lane
// by lane. The coordinate mappings are written once (templated on FloatV or DualV); with DualV
// the same code yields the exact Jacobian d(voxel coordinates)/d(scaled relative position),
// with the very float operations and branch choices of the plain evaluation.
#include "cconv_simd.h"

namespace lagrad::kernels {

struct DualV {
  FloatV v{};
  FloatV d[3] = {};

  DualV() = default;
  DualV(FloatV value) : v(value) {}  // a constant
  DualV(float value) : v(splat(value)) {}
};

inline FloatV value_of(FloatV x) { return x; }
inline FloatV value_of(const DualV& x) { return x.v; }

inline DualV operator+(const DualV& a, const DualV& b) {
  DualV r(a.v + b.v);
  for (int k = 0; k < 3; ++k) r.d[k] = a.d[k] + b.d[k];
  return r;
}
inline DualV operator-(const DualV& a, const DualV& b) {
  DualV r(a.v - b.v);
  for (int k = 0; k < 3; ++k) r.d[k] = a.d[k] - b.d[k];
  return r;
}
inline DualV operator-(const DualV& a) {
  DualV r(-a.v);
  for (int k = 0; k < 3; ++k) r.d[k] = -a.d[k];
  return r;
}
inline DualV operator*(const DualV& a, const DualV& b) {
  DualV r(a.v * b.v);
  for (int k = 0; k < 3; ++k) r.d[k] = a.d[k] * b.v + a.v * b.d[k];
  return r;
}
inline DualV operator/(const DualV& a, const DualV& b) {
  DualV r(a.v / b.v);
  const FloatV inv = 1.0f / b.v;
  for (int k = 0; k < 3; ++k) r.d[k] = (a.d[k] - r.v * b.d[k]) * inv;
  return r;
}

inline DualV select(IntV mask, const DualV& a, const DualV& b) {
  DualV r(select(mask, a.v, b.v));
  for (int k = 0; k < 3; ++k) r.d[k] = select(mask, a.d[k], b.d[k]);
  return r;
}
inline DualV sqrtv(const DualV& a) {
  DualV r(sqrtv(a.v));
  const FloatV s = select(r.v > 0.0f, 0.5f / r.v, FloatV{});
  for (int k = 0; k < 3; ++k) r.d[k] = a.d[k] * s;
  return r;
}
inline DualV atanv(const DualV& a) {
  DualV r(atanv(a.v));
  const FloatV s = 1.0f / (1.0f + a.v * a.v);
  for (int k = 0; k < 3; ++k) r.d[k] = a.d[k] * s;
  return r;
}
inline DualV absv(const DualV& a) { return select(a.v < 0.0f, -a, a); }
// |mag| with the sign of sgn; the derivative follows the selected sign.
inline DualV copysignv(const DualV& mag, const DualV& sgn) {
  const FloatV r = copysignv(mag.v, sgn.v);
  return select(r == mag.v, mag, -mag);
}

}  // namespace lagrad::kernels
