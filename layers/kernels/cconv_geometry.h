#pragma once
// Filter coordinates of ContinuousConv: relative position -> (mapping) -> voxel coordinates ->
// interpolation corners. Pure, header-only per-edge functions used by every cconv kernel.
//
// Conventions (Open3D's): for a neighbor at relative position r with filter extent e (per axis)
//   q = r * (2/e)   for the ball_to_cube mappings (q in the unit ball), r / e for identity
//   c = map(q) in [-0.5, 0.5]^3
//   v = (c + 0.5) * (k - 1)                                  align_corners
//   v = c * k + offset + floor(k/2) - (k even ? 0.5 : 0)     otherwise (offset only here)
// with k = (kw, kh, kd) for (x, y, z). The flat cell of voxel (x, y, z) is z*kh*kw + y*kw + x.
// See docs/continuous_conv.md for the formulas and their derivatives.
#include <algorithm>
#include <cmath>

#include "layers/cconv_options.h"
#include "layers/kernels/cconv_dual.h"

namespace lagrad::kernels {

struct CConvGeometry {
  CoordinateMapping mapping = CoordinateMapping::BallToCubeRadial;
  Interpolation interpolation = Interpolation::Linear;
  bool align_corners = true;
  int k[3] = {1, 1, 1};  // spatial filter size along x, y, z (= kw, kh, kd)
  float offset[3] = {0.0f, 0.0f, 0.0f};

  int cells() const { return k[0] * k[1] * k[2]; }
  int corners() const { return interpolation == Interpolation::NearestNeighbor ? 1 : 8; }
  // q = r * premap_scale(inv_extent): the coordinate fed to the mapping.
  float premap_scale(float inv_extent) const {
    return mapping == CoordinateMapping::Identity ? inv_extent : 2.0f * inv_extent;
  }
};

// ---- mappings (templated: float for values, Dual3 for values + Jacobian) ----

template <class T>
inline void map_sphere_to_cylinder(T& x, T& y, T& z) {
  using std::abs;
  using std::copysign;
  using std::sqrt;
  const T sq_norm = x * x + y * y + z * z;
  if (value_of(sq_norm) < 1e-12f) {
    x = y = z = T(0.0f);
    return;
  }
  const T norm = sqrt(sq_norm);
  const T xy = x * x + y * y;
  if (1.25f * value_of(z) * value_of(z) > value_of(xy)) {
    const T s = sqrt(T(3.0f) * norm / (norm + abs(z)));
    x = x * s;
    y = y * s;
    z = copysign(norm, z);
  } else {
    const T s = norm / sqrt(xy);
    x = x * s;
    y = y * s;
    z = z * T(1.5f);
  }
}

template <class T>
inline void map_cylinder_to_cube(T& x, T& y) {
  using std::abs;
  using std::atan;
  using std::copysign;
  using std::sqrt;
  const T sq_norm = x * x + y * y;
  if (value_of(sq_norm) < 1e-12f) {
    x = y = T(0.0f);
    return;
  }
  const T norm = sqrt(sq_norm);
  constexpr float k4_pi = static_cast<float>(4.0 / M_PI);
  if (std::abs(value_of(y)) <= std::abs(value_of(x))) {
    const T t = copysign(norm, x);
    y = t * T(k4_pi) * atan(y / x);
    x = t;
  } else {
    const T t = copysign(norm, y);
    x = t * T(k4_pi) * atan(x / y);
    y = t;
  }
}

// q (scaled relative position) -> voxel coordinates v.
template <class T>
inline void filter_coordinates(const CConvGeometry& g, T& x, T& y, T& z) {
  using std::sqrt;
  if (g.mapping == CoordinateMapping::BallToCubeRadial) {
    const float ax = std::abs(value_of(x)), ay = std::abs(value_of(y)), az = std::abs(value_of(z));
    const float abs_max_v = std::max(ax, std::max(ay, az));
    if (abs_max_v < 1e-8f) {
      x = y = z = T(0.0f);
    } else {
      using std::abs;
      const T abs_max = (ax >= ay && ax >= az) ? abs(x) : (ay >= az ? abs(y) : abs(z));
      const T radius = sqrt(x * x + y * y + z * z);
      const T s = T(0.5f) * radius / abs_max;
      x = x * s;
      y = y * s;
      z = z * s;
    }
  } else if (g.mapping == CoordinateMapping::BallToCubeVolumePreserving) {
    map_sphere_to_cylinder(x, y, z);
    map_cylinder_to_cube(x, y);
    x = x * T(0.5f);
    y = y * T(0.5f);
    z = z * T(0.5f);
  }
  T* c[3] = {&x, &y, &z};
  for (int a = 0; a < 3; ++a) {
    T& v = *c[a];
    if (g.align_corners) {
      v = (v + T(0.5f)) * T(static_cast<float>(g.k[a] - 1));
    } else {
      v = v * T(static_cast<float>(g.k[a]));
      v = v + T(g.offset[a]);
      v = v + T(static_cast<float>(g.k[a] / 2));
      if (g.k[a] % 2 == 0) v = v - T(0.5f);
    }
  }
}

// ---- interpolation ----

struct Corners {
  int n = 0;        // 8 (linear modes) or 1 (nearest)
  int cell[8];      // flat spatial cell z*ky*kx + y*kx + x
  float w[8];       // interpolation weight
  float dw[8][3];   // d w / d v (filled by interpolate_with_grad only)
};

namespace detail {
// Per-axis linear interpolation: lower/upper voxel, fraction a, da/dv, validity of lower/upper.
struct AxisLerp {
  int i0, i1;
  float a, da;
  bool ok0, ok1;
};

inline AxisLerp axis_lerp(Interpolation mode, float v, int k) {
  AxisLerp r{};
  // Clamp far-away coordinates first so that the float -> int conversion stays defined; the
  // result is unchanged (such coordinates are clamped, or all their corners are outside).
  v = std::min(std::max(v, -2.0f), static_cast<float>(k) + 1.0f);
  if (mode == Interpolation::Linear) {
    r.i0 = std::max(0, std::min(static_cast<int>(v), k - 1));  // truncation, as Open3D
    r.i1 = std::max(0, std::min(r.i0 + 1, k - 1));
    const float f = v - static_cast<float>(r.i0);
    r.a = std::max(0.0f, std::min(f, 1.0f));
    r.da = (f > 0.0f && f < 1.0f) ? 1.0f : 0.0f;
    r.ok0 = r.ok1 = true;
  } else {  // LinearBorder
    r.i0 = static_cast<int>(std::floor(v));
    r.i1 = r.i0 + 1;
    r.a = v - static_cast<float>(r.i0);
    r.da = 1.0f;
    r.ok0 = r.i0 >= 0 && r.i0 < k;
    r.ok1 = r.i1 >= 0 && r.i1 < k;
  }
  return r;
}
}  // namespace detail

// Corners and weights for voxel coordinates v; with_grad also fills dw/dv.
template <bool with_grad>
inline void interpolate(const CConvGeometry& g, const float v[3], Corners& out) {
  const int kx = g.k[0], ky = g.k[1], kz = g.k[2];
  if (g.interpolation == Interpolation::NearestNeighbor) {
    int idx[3];
    for (int a = 0; a < 3; ++a) {
      const float c = std::min(std::max(v[a], -2.0f), static_cast<float>(g.k[a]) + 1.0f);
      idx[a] = std::max(0, std::min(static_cast<int>(std::round(c)), g.k[a] - 1));
    }
    out.n = 1;
    out.cell[0] = (idx[2] * ky + idx[1]) * kx + idx[0];
    out.w[0] = 1.0f;
    if (with_grad) out.dw[0][0] = out.dw[0][1] = out.dw[0][2] = 0.0f;
    return;
  }
  const detail::AxisLerp X = detail::axis_lerp(g.interpolation, v[0], kx);
  const detail::AxisLerp Y = detail::axis_lerp(g.interpolation, v[1], ky);
  const detail::AxisLerp Z = detail::axis_lerp(g.interpolation, v[2], kz);
  out.n = 8;
  for (int c = 0; c < 8; ++c) {
    const bool bx = c & 1, by = c & 2, bz = c & 4;
    const float wx = bx ? X.a : 1.0f - X.a;
    const float wy = by ? Y.a : 1.0f - Y.a;
    const float wz = bz ? Z.a : 1.0f - Z.a;
    const bool ok = (bx ? X.ok1 : X.ok0) && (by ? Y.ok1 : Y.ok0) && (bz ? Z.ok1 : Z.ok0);
    if (!ok) {
      out.cell[c] = 0;
      out.w[c] = 0.0f;
      if (with_grad) out.dw[c][0] = out.dw[c][1] = out.dw[c][2] = 0.0f;
      continue;
    }
    out.cell[c] = ((bz ? Z.i1 : Z.i0) * ky + (by ? Y.i1 : Y.i0)) * kx + (bx ? X.i1 : X.i0);
    out.w[c] = wx * wy * wz;
    if (with_grad) {
      const float sx = bx ? X.da : -X.da, sy = by ? Y.da : -Y.da, sz = bz ? Z.da : -Z.da;
      out.dw[c][0] = sx * wy * wz;
      out.dw[c][1] = wx * sy * wz;
      out.dw[c][2] = wx * wy * sz;
    }
  }
}

// ---- per edge ----

// Forward: corners of the neighbor at relative position r with inverse extents inv_ext[3].
inline void edge_corners(const CConvGeometry& g, const float r[3], const float inv_ext[3], Corners& out) {
  float x = r[0] * g.premap_scale(inv_ext[0]);
  float y = r[1] * g.premap_scale(inv_ext[1]);
  float z = r[2] * g.premap_scale(inv_ext[2]);
  filter_coordinates(g, x, y, z);
  const float v[3] = {x, y, z};
  interpolate<false>(g, v, out);
}

// Backward geometry of one edge: corners, weights and dw/dv, plus the Jacobian dv/dq and q.
struct EdgeJacobian {
  Corners corners;
  float q[3];      // scaled relative position fed to the mapping
  float dvdq[3][3];  // dvdq[a][b] = d v_a / d q_b
};

inline void edge_corners_with_jacobian(const CConvGeometry& g, const float r[3], const float inv_ext[3],
                                       EdgeJacobian& out) {
  Dual3 p[3];
  for (int a = 0; a < 3; ++a) {
    out.q[a] = r[a] * g.premap_scale(inv_ext[a]);
    p[a] = Dual3::variable(out.q[a], a);
  }
  filter_coordinates(g, p[0], p[1], p[2]);
  const float v[3] = {p[0].v, p[1].v, p[2].v};
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) out.dvdq[a][b] = p[a].d[b];
  interpolate<true>(g, v, out.corners);
}

// Chain rule for one edge: given gv = dL/dv, returns dL/dr and dL/d(extent per axis).
//   q_a = r_a * s * inv_a (s = 2 or 1)  =>  dq_a/dr_a = s*inv_a,  dq_a/de_a = -q_a * inv_a
inline void edge_chain(const CConvGeometry& g, const EdgeJacobian& J, const float gv[3], const float inv_ext[3],
                       float gr[3], float gext[3]) {
  for (int b = 0; b < 3; ++b) {
    const float gq = J.dvdq[0][b] * gv[0] + J.dvdq[1][b] * gv[1] + J.dvdq[2][b] * gv[2];
    gr[b] = gq * g.premap_scale(inv_ext[b]);
    gext[b] = -gq * J.q[b] * inv_ext[b];
  }
}

}  // namespace lagrad::kernels
