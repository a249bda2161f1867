#pragma once
// Filter coordinates of ContinuousConv: relative position -> (mapping) -> voxel coordinates ->
// interpolation corners, for kLanes neighbor entries at once (SIMD, branch-free: every region
// of a mapping is evaluated and the lanes select theirs). Header-only, used by every cconv
// kernel.
//
// Conventions (Open3D's): for a neighbor at relative position r with filter extent e (per axis)
//   q = r * (2/e)   for the ball_to_cube mappings (q in the unit ball), r / e for identity
//   c = map(q) in [-0.5, 0.5]^3
//   v = (c + 0.5) * (k - 1)                                  align_corners
//   v = c * k + offset + floor(k/2) - (k even ? 0.5 : 0)     otherwise (offset only here)
// with k = (kw, kh, kd) for (x, y, z). The flat cell of voxel (x, y, z) is z*kh*kw + y*kw + x.
// See docs/continuous_conv.md for the formulas and their derivatives.
#include <cstdint>

#include "../cconv_options.h"
#include "cconv_dual.h"
#include "cconv_simd.h"

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

// ---- mappings (T = FloatV for values, DualV for values + Jacobian) ----

template <class T>
inline T cst(float x);
template <>
inline FloatV cst<FloatV>(float x) {
  return splat(x);
}
template <>
inline DualV cst<DualV>(float x) {
  return DualV(x);
}

// Unit sphere -> cylinder (axis z): polar caps (1.25 z^2 > x^2 + y^2) to the end discs, the
// equatorial band to the mantle.
template <class T>
inline void map_sphere_to_cylinder(T& x, T& y, T& z) {
  const T sq_norm = x * x + y * y + z * z;
  const T norm = sqrtv(sq_norm);
  const T xy = x * x + y * y;
  const IntV tiny = value_of(sq_norm) < 1e-12f;
  const IntV polar = (1.25f * value_of(z)) * value_of(z) > value_of(xy);
  const T s_polar = sqrtv(cst<T>(3.0f) * norm / (norm + absv(z)));
  const T s_band = norm / sqrtv(xy);
  const T s = select(polar, s_polar, s_band);
  const T zero = cst<T>(0.0f);
  const T zn = select(polar, copysignv(norm, z), z * cst<T>(1.5f));
  x = select(tiny, zero, x * s);
  y = select(tiny, zero, y * s);
  z = select(tiny, zero, zn);
}

// Disc -> square in the xy plane; within each wedge the angle becomes a linear position.
template <class T>
inline void map_cylinder_to_cube(T& x, T& y) {
  const T sq_norm = x * x + y * y;
  const T norm = sqrtv(sq_norm);
  const IntV tiny = value_of(sq_norm) < 1e-12f;
  const IntV x_wedge = absv(value_of(y)) <= absv(value_of(x));
  constexpr float k4_pi = static_cast<float>(4.0 / M_PI);
  const T t = copysignv(norm, select(x_wedge, x, y));
  const T side = t * cst<T>(k4_pi) * atanv(select(x_wedge, y / x, x / y));
  const T zero = cst<T>(0.0f);
  const T nx = select(x_wedge, t, side);
  const T ny = select(x_wedge, side, t);
  x = select(tiny, zero, nx);
  y = select(tiny, zero, ny);
}

// q (scaled relative position) -> voxel coordinates v, in place.
template <class T>
inline void filter_coordinates(const CConvGeometry& g, T& x, T& y, T& z) {
  if (g.mapping == CoordinateMapping::BallToCubeRadial) {
    const FloatV ax = absv(value_of(x)), ay = absv(value_of(y)), az = absv(value_of(z));
    const FloatV abs_max_v = maxv(ax, maxv(ay, az));
    const IntV x_max = (ax >= ay) & (ax >= az);
    const IntV y_max = ~x_max & (ay >= az);
    const T abs_max = select(x_max, absv(x), select(y_max, absv(y), absv(z)));
    const T radius = sqrtv(x * x + y * y + z * z);
    const T s = cst<T>(0.5f) * radius / abs_max;
    const IntV tiny = abs_max_v < 1e-8f;
    const T zero = cst<T>(0.0f);
    x = select(tiny, zero, x * s);
    y = select(tiny, zero, y * s);
    z = select(tiny, zero, z * s);
  } else if (g.mapping == CoordinateMapping::BallToCubeVolumePreserving) {
    map_sphere_to_cylinder(x, y, z);
    map_cylinder_to_cube(x, y);
    x = x * cst<T>(0.5f);
    y = y * cst<T>(0.5f);
    z = z * cst<T>(0.5f);
  }
  T* c[3] = {&x, &y, &z};
  for (int a = 0; a < 3; ++a) {
    T& v = *c[a];
    if (g.align_corners) {
      v = (v + cst<T>(0.5f)) * cst<T>(static_cast<float>(g.k[a] - 1));
    } else {
      v = v * cst<T>(static_cast<float>(g.k[a]));
      v = v + cst<T>(g.offset[a]);
      v = v + cst<T>(static_cast<float>(g.k[a] / 2));
      if (g.k[a] % 2 == 0) v = v - cst<T>(0.5f);
    }
  }
}

// ---- interpolation of kLanes entries ----

struct CornerBatch {
  int n = 0;                        // corners per entry: 8 (linear modes) or 1 (nearest)
  std::int32_t cell[8][kLanes];     // flat spatial cell z*ky*kx + y*kx + x
  float w[8][kLanes];               // interpolation weight
  float dw[8][3][kLanes];           // d w / d v          (with_grad only)
  float dvdq[3][3][kLanes];         // d v_a / d q_b      (with_grad only)
};

namespace detail {
// Per-axis linear interpolation of a lane vector: lower/upper voxel, fraction, its derivative,
// and (linear_border) whether the lower/upper voxel exists.
struct AxisLerpV {
  IntV i0, i1;
  FloatV a, da;
  IntV ok0, ok1;
};

inline AxisLerpV axis_lerp(Interpolation mode, FloatV v, int k) {
  AxisLerpV r;
  // Far-away coordinates are clamped first so that the float -> int conversion stays defined;
  // results are unchanged (such coordinates are clamped anyway, or all their corners are out).
  v = minv(maxv(v, splat(-2.0f)), splat(static_cast<float>(k) + 1.0f));
  const IntV vt = __builtin_convertvector(v, IntV);  // truncation toward zero, as Open3D's int()
  if (mode == Interpolation::Linear) {
    r.i0 = maxi(splati(0), mini(vt, splati(k - 1)));
    r.i1 = maxi(splati(0), mini(r.i0 + 1, splati(k - 1)));
    const FloatV f = v - __builtin_convertvector(r.i0, FloatV);
    r.a = maxv(FloatV{}, minv(f, splat(1.0f)));
    r.da = select((f > 0.0f) & (f < 1.0f), splat(1.0f), FloatV{});
    r.ok0 = r.ok1 = splati(-1);
  } else {  // LinearBorder: floor
    r.i0 = vt - select(__builtin_convertvector(vt, FloatV) > v, splati(1), splati(0));
    r.i1 = r.i0 + 1;
    r.a = v - __builtin_convertvector(r.i0, FloatV);
    r.da = splat(1.0f);
    r.ok0 = (r.i0 >= 0) & (r.i0 < k);
    r.ok1 = (r.i1 >= 0) & (r.i1 < k);
  }
  return r;
}
}  // namespace detail

// Corners of kLanes entries with scaled relative positions q[3] (lanes). with_grad also fills
// dw/dv and the mapping Jacobian dv/dq.
template <bool with_grad>
inline void batch_corners(const CConvGeometry& g, const FloatV q[3], CornerBatch& out) {
  FloatV v[3];
  if (with_grad) {
    DualV p[3];
    for (int a = 0; a < 3; ++a) {
      p[a] = DualV(q[a]);
      p[a].d[a] = splat(1.0f);
    }
    filter_coordinates(g, p[0], p[1], p[2]);
    for (int a = 0; a < 3; ++a) {
      v[a] = p[a].v;
      for (int b = 0; b < 3; ++b) storev(out.dvdq[a][b], p[a].d[b]);
    }
  } else {
    for (int a = 0; a < 3; ++a) v[a] = q[a];
    filter_coordinates(g, v[0], v[1], v[2]);
  }
  const int kx = g.k[0], ky = g.k[1];
  if (g.interpolation == Interpolation::NearestNeighbor) {
    IntV idx[3];
    for (int a = 0; a < 3; ++a) {
      const FloatV c = minv(maxv(v[a], splat(-2.0f)), splat(static_cast<float>(g.k[a]) + 1.0f));
      IntV t = __builtin_convertvector(c, IntV);
      const FloatV fr = c - __builtin_convertvector(t, FloatV);
      t += select(fr >= 0.5f, splati(1), splati(0)) - select(fr <= -0.5f, splati(1), splati(0));  // half away from 0
      idx[a] = maxi(splati(0), mini(t, splati(g.k[a] - 1)));
    }
    out.n = 1;
    storev(out.cell[0], (idx[2] * ky + idx[1]) * kx + idx[0]);
    storev(out.w[0], splat(1.0f));
    if (with_grad)
      for (int a = 0; a < 3; ++a) storev(out.dw[0][a], FloatV{});
    return;
  }
  const detail::AxisLerpV X = detail::axis_lerp(g.interpolation, v[0], kx);
  const detail::AxisLerpV Y = detail::axis_lerp(g.interpolation, v[1], ky);
  const detail::AxisLerpV Z = detail::axis_lerp(g.interpolation, v[2], g.k[2]);
  out.n = 8;
  const FloatV one = splat(1.0f);
  for (int c = 0; c < 8; ++c) {
    const bool bx = c & 1, by = c & 2, bz = c & 4;
    const FloatV wx = bx ? X.a : one - X.a;
    const FloatV wy = by ? Y.a : one - Y.a;
    const FloatV wz = bz ? Z.a : one - Z.a;
    const IntV ok = (bx ? X.ok1 : X.ok0) & (by ? Y.ok1 : Y.ok0) & (bz ? Z.ok1 : Z.ok0);
    const IntV cell = ((bz ? Z.i1 : Z.i0) * ky + (by ? Y.i1 : Y.i0)) * kx + (bx ? X.i1 : X.i0);
    storev(out.cell[c], select(ok, cell, splati(0)));
    storev(out.w[c], select(ok, wx * wy * wz, FloatV{}));
    if (with_grad) {
      const FloatV sx = bx ? X.da : -X.da, sy = by ? Y.da : -Y.da, sz = bz ? Z.da : -Z.da;
      storev(out.dw[c][0], select(ok, sx * wy * wz, FloatV{}));
      storev(out.dw[c][1], select(ok, wx * sy * wz, FloatV{}));
      storev(out.dw[c][2], select(ok, wx * wy * sz, FloatV{}));
    }
  }
}

// One entry's voxel coordinates (lane 0 of a batch): for tests and diagnostics.
inline void voxel_coordinates(const CConvGeometry& g, const float q[3], float v[3]) {
  FloatV x = splat(q[0]), y = splat(q[1]), z = splat(q[2]);
  filter_coordinates(g, x, y, z);
  v[0] = x[0];
  v[1] = y[0];
  v[2] = z[0];
}

// Chain rule for one entry (lane l of a batch): given gv = dL/dv, returns dL/dr and dL/d(extent
// per axis).   q_a = r_a * s * inv_a (s = 2 or 1)  =>  dq_a/dr_a = s*inv_a,  dq_a/de_a = -q_a * inv_a
inline void edge_chain(const CConvGeometry& g, const CornerBatch& B, int l, const float q[3], const float gv[3],
                       const float inv_ext[3], float gr[3], float gext[3]) {
  for (int b = 0; b < 3; ++b) {
    const float gq = B.dvdq[0][b][l] * gv[0] + B.dvdq[1][b][l] * gv[1] + B.dvdq[2][b][l] * gv[2];
    gr[b] = gq * g.premap_scale(inv_ext[b]);
    gext[b] = -gq * q[b] * inv_ext[b];
  }
}

}  // namespace lagrad::kernels
