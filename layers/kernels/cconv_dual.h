#pragma once
// A forward-mode dual number with three partial derivatives, used to differentiate the
// ContinuousConv coordinate mappings (ball -> cylinder -> cube) exactly: the same templated code
// computes the filter coordinates in float (forward pass) and, with Dual3, their Jacobian with
// respect to the scaled relative position (backward pass). The value part performs exactly the
// float operations of the plain version, so both passes select the same filter cells.
#include <cmath>

namespace lagrad::kernels {

struct Dual3 {
  float v = 0.0f;
  float d[3] = {0.0f, 0.0f, 0.0f};

  Dual3() = default;
  Dual3(float value) : v(value) {}  // a constant: zero partials
  static Dual3 variable(float value, int axis) {
    Dual3 x(value);
    x.d[axis] = 1.0f;
    return x;
  }
};

inline float value_of(float x) { return x; }
inline float value_of(const Dual3& x) { return x.v; }

inline Dual3 operator+(const Dual3& a, const Dual3& b) {
  Dual3 r(a.v + b.v);
  for (int k = 0; k < 3; ++k) r.d[k] = a.d[k] + b.d[k];
  return r;
}
inline Dual3 operator-(const Dual3& a, const Dual3& b) {
  Dual3 r(a.v - b.v);
  for (int k = 0; k < 3; ++k) r.d[k] = a.d[k] - b.d[k];
  return r;
}
inline Dual3 operator-(const Dual3& a) {
  Dual3 r(-a.v);
  for (int k = 0; k < 3; ++k) r.d[k] = -a.d[k];
  return r;
}
inline Dual3 operator*(const Dual3& a, const Dual3& b) {
  Dual3 r(a.v * b.v);
  for (int k = 0; k < 3; ++k) r.d[k] = a.d[k] * b.v + a.v * b.d[k];
  return r;
}
inline Dual3 operator/(const Dual3& a, const Dual3& b) {
  Dual3 r(a.v / b.v);
  const float inv = 1.0f / b.v;
  for (int k = 0; k < 3; ++k) r.d[k] = (a.d[k] - r.v * b.d[k]) * inv;
  return r;
}
inline Dual3& operator+=(Dual3& a, const Dual3& b) { return a = a + b; }
inline Dual3& operator-=(Dual3& a, const Dual3& b) { return a = a - b; }
inline Dual3& operator*=(Dual3& a, const Dual3& b) { return a = a * b; }

inline Dual3 sqrt(const Dual3& a) {
  Dual3 r(std::sqrt(a.v));
  const float s = r.v > 0.0f ? 0.5f / r.v : 0.0f;
  for (int k = 0; k < 3; ++k) r.d[k] = a.d[k] * s;
  return r;
}
inline Dual3 atan(const Dual3& a) {
  Dual3 r(std::atan(a.v));
  const float s = 1.0f / (1.0f + a.v * a.v);
  for (int k = 0; k < 3; ++k) r.d[k] = a.d[k] * s;
  return r;
}
inline Dual3 abs(const Dual3& a) { return a.v < 0.0f ? -a : a; }
// |mag| with the sign of `sign` (the derivative follows the selected branch).
inline Dual3 copysign(const Dual3& mag, const Dual3& sign) {
  const bool flip = std::signbit(mag.v) != std::signbit(sign.v);
  return flip ? -mag : mag;
}

}  // namespace lagrad::kernels
