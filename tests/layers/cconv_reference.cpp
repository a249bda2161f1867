#include "cconv_reference.h"

#include <algorithm>
#include <cmath>

namespace lagrad::cconv_ref {

namespace {
constexpr double kPi = 3.14159265358979323846;
double sqr(double x) { return x * x; }
}  // namespace

Vec3 Problem::extent_of(Index j) const {
  switch (extent_kind) {
    case ExtentKind::Shared:
      return {extents[0], extents[0], extents[0]};
    case ExtentKind::PerPoint:
      return {extents[j], extents[j], extents[j]};
    case ExtentKind::SharedPerAxis:
      return {extents[0], extents[1], extents[2]};
    case ExtentKind::PerAxis:
      break;
  }
  return {extents[3 * j], extents[3 * j + 1], extents[3 * j + 2]};
}

// Radial stretch: the point keeps its direction and its Euclidean norm becomes its max norm.
Vec3 map_ball_to_cube_radial(const Vec3& q) {
  const double max_abs = std::max({std::abs(q[0]), std::abs(q[1]), std::abs(q[2])});
  if (max_abs < 1e-8) return {0.0, 0.0, 0.0};
  const double scale = std::sqrt(sqr(q[0]) + sqr(q[1]) + sqr(q[2])) / max_abs;
  return {q[0] * scale, q[1] * scale, q[2] * scale};
}

// Two regions: the polar caps (1.25 z^2 > x^2 + y^2) go to the cylinder's end discs, the
// equatorial band to its mantle. The cylinder axis is z.
Vec3 map_sphere_to_cylinder(const Vec3& q) {
  const double norm_sqr = sqr(q[0]) + sqr(q[1]) + sqr(q[2]);
  if (norm_sqr < 1e-12) return {0.0, 0.0, 0.0};
  const double norm = std::sqrt(norm_sqr);
  const double xy_sqr = sqr(q[0]) + sqr(q[1]);
  if (1.25 * sqr(q[2]) > xy_sqr) {
    const double s = std::sqrt(3.0 * norm / (norm + std::abs(q[2])));
    return {q[0] * s, q[1] * s, std::copysign(norm, q[2])};
  }
  const double s = norm / std::sqrt(xy_sqr);
  return {q[0] * s, q[1] * s, 1.5 * q[2]};
}

// Disc to square in the xy plane (z untouched): the radius becomes the max norm and the angle
// within each quadrant-wedge becomes a linear position along the square's side.
Vec3 map_cylinder_to_cube(const Vec3& q) {
  const double r_sqr = sqr(q[0]) + sqr(q[1]);
  if (r_sqr < 1e-12) return {0.0, 0.0, q[2]};
  const double r = std::sqrt(r_sqr);
  if (std::abs(q[1]) <= std::abs(q[0])) {
    const double side = std::copysign(r, q[0]);
    return {side, side * (4.0 / kPi) * std::atan(q[1] / q[0]), q[2]};
  }
  const double side = std::copysign(r, q[1]);
  return {side * (4.0 / kPi) * std::atan(q[0] / q[1]), side, q[2]};
}

Vec3 map_ball_to_cube_volume_preserving(const Vec3& q) {
  return map_cylinder_to_cube(map_sphere_to_cylinder(q));
}

Vec3 filter_coordinates(const Vec3& d, const Vec3& extent, const std::array<Index, 3>& sizes_xyz,
                        const Vec3& offset, const CConvOpOptions& options) {
  Vec3 q;  // in the unit ball when |d| <= extent / 2
  for (int k = 0; k < 3; ++k) q[k] = 2.0 * d[k] / extent[k];
  Vec3 m = q;
  if (options.coordinate_mapping == CoordinateMapping::BallToCubeRadial) {
    m = map_ball_to_cube_radial(q);
  } else if (options.coordinate_mapping == CoordinateMapping::BallToCubeVolumePreserving) {
    m = map_ball_to_cube_volume_preserving(q);
  }
  Vec3 v;
  for (int k = 0; k < 3; ++k) {
    const double u = 0.5 * m[k] + 0.5;  // [0, 1] across the filter shape
    const double n = static_cast<double>(sizes_xyz[k]);
    // align_corners: outer voxel centers on the shape's boundary, and no offset.
    // Otherwise: outer voxel borders on the boundary; voxel centers at integers.
    v[k] = options.align_corners ? u * (n - 1.0) : u * n - 0.5 + offset[k];
  }
  return v;
}

namespace {

struct AxisTaps {
  int count = 0;
  Index index[2] = {0, 0};
  double weight[2] = {0.0, 0.0};
  void add(Index i, double w) {
    index[count] = i;
    weight[count] = w;
    ++count;
  }
};

AxisTaps axis_taps(double v, Index n, Interpolation interpolation) {
  AxisTaps taps;
  switch (interpolation) {
    case Interpolation::NearestNeighbor: {
      const double r = std::round(v);  // halves away from zero
      taps.add(static_cast<Index>(std::clamp(r, 0.0, static_cast<double>(n - 1))), 1.0);
      break;
    }
    case Interpolation::Linear: {
      const double c = std::clamp(v, 0.0, static_cast<double>(n - 1));
      const Index i0 = std::min(static_cast<Index>(std::floor(c)), n - 1);
      const double t = c - static_cast<double>(i0);
      taps.add(i0, 1.0 - t);
      taps.add(std::min(i0 + 1, n - 1), t);
      break;
    }
    case Interpolation::LinearBorder: {
      const double f = std::floor(v);
      const double t = v - f;
      const Index i0 = static_cast<Index>(f);
      if (i0 >= 0 && i0 < n) taps.add(i0, 1.0 - t);
      if (i0 + 1 >= 0 && i0 + 1 < n) taps.add(i0 + 1, t);
      break;
    }
  }
  return taps;
}

}  // namespace

std::vector<Tap> interpolate(const Vec3& v, const std::array<Index, 3>& sizes_xyz,
                             Interpolation interpolation) {
  const AxisTaps tx = axis_taps(v[0], sizes_xyz[0], interpolation);
  const AxisTaps ty = axis_taps(v[1], sizes_xyz[1], interpolation);
  const AxisTaps tz = axis_taps(v[2], sizes_xyz[2], interpolation);
  std::vector<Tap> taps;
  for (int a = 0; a < tz.count; ++a)
    for (int b = 0; b < ty.count; ++b)
      for (int c = 0; c < tx.count; ++c) {
        const Index voxel = (tz.index[a] * sizes_xyz[1] + ty.index[b]) * sizes_xyz[0] + tx.index[c];
        taps.push_back({voxel, tz.weight[a] * ty.weight[b] * tx.weight[c]});
      }
  return taps;
}

std::vector<double> row_normalizers(const Problem& p) {
  std::vector<double> psi(p.num_out(), 0.0);
  for (Index j = 0; j < p.num_out(); ++j)
    for (Index e = p.neighbors_row_splits[j]; e < p.neighbors_row_splits[j + 1]; ++e)
      psi[j] += p.neighbors_importance.empty() ? 1.0 : p.neighbors_importance[e];
  return psi;
}

namespace {

// Adds coef * f^T G_e into out_row, with G_e the interpolated [in, out] filter of entry e
// (output point j, input point i).
void accumulate_entry(const Problem& p, Index j, Index i, double coef, const double* f,
                      const CConvOpOptions& options, double* out_row) {
  Vec3 d;
  for (int k = 0; k < 3; ++k) d[k] = p.inp_positions[3 * i + k] - p.out_positions[3 * j + k];
  const Vec3 v = filter_coordinates(d, p.extent_of(j), p.sizes_xyz(), p.offset, options);
  for (const Tap& tap : interpolate(v, p.sizes_xyz(), options.interpolation)) {
    const double* w = p.filters.data() + tap.voxel * p.in_channels * p.out_channels;
    for (Index c = 0; c < p.in_channels; ++c)
      for (Index o = 0; o < p.out_channels; ++o)
        out_row[o] += coef * tap.weight * f[c] * w[c * p.out_channels + o];
  }
}

double neighbor_importance(const Problem& p, Index e) {
  return p.neighbors_importance.empty() ? 1.0 : p.neighbors_importance[e];
}

double input_importance(const Problem& p, Index i) {
  return p.inp_importance.empty() ? 1.0 : p.inp_importance[i];
}

}  // namespace

std::vector<double> continuous_conv(const Problem& p, const std::vector<double>& features,
                                    const CConvOpOptions& options) {
  const std::vector<double> psi = row_normalizers(p);
  std::vector<double> out(p.num_out() * p.out_channels, 0.0);
  for (Index j = 0; j < p.num_out(); ++j) {
    double* row = out.data() + j * p.out_channels;
    for (Index e = p.neighbors_row_splits[j]; e < p.neighbors_row_splits[j + 1]; ++e) {
      const Index i = p.neighbors_index[e];
      const double coef = neighbor_importance(p, e) * input_importance(p, i);
      accumulate_entry(p, j, i, coef, features.data() + i * p.in_channels, options, row);
    }
    if (options.normalize && psi[j] != 0.0)
      for (Index o = 0; o < p.out_channels; ++o) row[o] /= psi[j];
  }
  return out;
}

std::vector<double> continuous_conv_transpose(const Problem& p,
                                              const std::vector<double>& features,
                                              const CConvOpOptions& options) {
  const std::vector<double> psi = row_normalizers(p);
  std::vector<double> out(p.num_inp() * p.out_channels, 0.0);
  for (Index j = 0; j < p.num_out(); ++j) {
    const double nu = (options.normalize && psi[j] != 0.0) ? 1.0 / psi[j] : 1.0;
    for (Index e = p.neighbors_row_splits[j]; e < p.neighbors_row_splits[j + 1]; ++e) {
      const Index i = p.neighbors_index[e];
      accumulate_entry(p, j, i, neighbor_importance(p, e) * nu,
                       features.data() + j * p.in_channels, options,
                       out.data() + i * p.out_channels);
    }
  }
  for (Index i = 0; i < p.num_inp(); ++i)
    for (Index o = 0; o < p.out_channels; ++o) out[i * p.out_channels + o] *= input_importance(p, i);
  return out;
}

std::vector<double> swap_filter_channels(const Problem& p) {
  const Index voxels = p.kd * p.kh * p.kw;
  const Index ci = p.in_channels, co = p.out_channels;
  std::vector<double> swapped(p.filters.size());
  for (Index s = 0; s < voxels; ++s)
    for (Index c = 0; c < ci; ++c)
      for (Index o = 0; o < co; ++o) swapped[(s * co + o) * ci + c] = p.filters[(s * ci + c) * co + o];
  return swapped;
}

NeighborList brute_force_radius_search(const std::vector<double>& points,
                                       const std::vector<double>& queries,
                                       const std::vector<double>& radii) {
  NeighborList list;
  const Index num_points = static_cast<Index>(points.size() / 3);
  const Index num_queries = static_cast<Index>(queries.size() / 3);
  list.row_splits.push_back(0);
  for (Index q = 0; q < num_queries; ++q) {
    for (Index i = 0; i < num_points; ++i) {
      double dist_sqr = 0.0;
      for (int k = 0; k < 3; ++k) dist_sqr += sqr(points[3 * i + k] - queries[3 * q + k]);
      if (dist_sqr <= sqr(radii[q])) {
        list.index.push_back(i);
        list.distance_sqr.push_back(dist_sqr);
      }
    }
    list.row_splits.push_back(static_cast<Index>(list.index.size()));
  }
  return list;
}

namespace {
double uniform(Rng& rng, double lo, double hi) {
  return static_cast<double>(rng.uniform(static_cast<float>(lo), static_cast<float>(hi)));
}
}  // namespace

Problem random_problem(const ProblemSpec& s, Rng& rng) {
  Problem p;
  p.kd = s.kd, p.kh = s.kh, p.kw = s.kw;
  p.in_channels = s.in_channels, p.out_channels = s.out_channels;
  p.filters = random_values(s.kd * s.kh * s.kw * s.in_channels * s.out_channels, rng);
  for (Index i = 0; i < s.num_inp; ++i)
    for (int k = 0; k < 3; ++k)
      p.inp_positions.push_back(i >= s.num_inp - 2 ? -5.0 - static_cast<double>(i) : uniform(rng, 0.0, s.box));
  for (Index j = 0; j < s.num_out; ++j)
    for (int k = 0; k < 3; ++k)
      p.out_positions.push_back(j >= s.num_out - 3 ? 5.0 + static_cast<double>(j) : uniform(rng, 0.0, s.box));
  p.extent_kind = s.extent_kind;
  switch (s.extent_kind) {
    case ExtentKind::Shared:
      p.extents = {0.5};
      break;
    case ExtentKind::PerPoint:
      for (Index j = 0; j < s.num_out; ++j) p.extents.push_back(uniform(rng, 0.4, 0.6));
      break;
    case ExtentKind::PerAxis:
      for (Index j = 0; j < 3 * s.num_out; ++j) p.extents.push_back(uniform(rng, 0.35, 0.65));
      break;
    case ExtentKind::SharedPerAxis:
      p.extents = {0.4375, 0.5, 0.625};
      break;
  }
  if (s.offset) p.offset = {0.3f, -0.2f, 0.45f};  // the float values the op sees
  std::vector<double> radii;
  for (Index j = 0; j < s.num_out; ++j) {
    const Vec3 e = p.extent_of(j);
    radii.push_back(0.6 * std::max({e[0], e[1], e[2]}));
  }
  const NeighborList nl = brute_force_radius_search(p.inp_positions, p.out_positions, radii);
  p.neighbors_index = nl.index;
  p.neighbors_row_splits = nl.row_splits;
  if (s.inp_importance)
    for (Index i = 0; i < s.num_inp; ++i) p.inp_importance.push_back(uniform(rng, -1.0, 1.0));
  if (s.neighbors_importance)
    for (Index e = 0; e < p.num_entries(); ++e) p.neighbors_importance.push_back(uniform(rng, 0.1, 1.0));
  return p;
}

std::vector<double> random_values(Index n, Rng& rng) {
  std::vector<double> v;
  for (Index k = 0; k < n; ++k) v.push_back(uniform(rng, -1.0, 1.0));
  return v;
}

Vec3 ball_coordinates(const Problem& p, Index j, Index e) {
  const Index i = p.neighbors_index[e];
  const Vec3 ext = p.extent_of(j);
  Vec3 q;
  for (int k = 0; k < 3; ++k) q[k] = 2.0 * (p.inp_positions[3 * i + k] - p.out_positions[3 * j + k]) / ext[k];
  return q;
}

Vec3 voxel_coordinates(const Problem& p, Index j, Index e, const CConvOpOptions& options) {
  const Index i = p.neighbors_index[e];
  Vec3 d;
  for (int k = 0; k < 3; ++k) d[k] = p.inp_positions[3 * i + k] - p.out_positions[3 * j + k];
  return filter_coordinates(d, p.extent_of(j), p.sizes_xyz(), p.offset, options);
}

bool near_jump(const Problem& p, Index j, Index e, const CConvOpOptions& options, double margin) {
  if (options.interpolation != Interpolation::NearestNeighbor) return false;
  const Vec3 v = voxel_coordinates(p, j, e, options);
  for (int k = 0; k < 3; ++k)
    if (std::abs(v[k] - std::floor(v[k]) - 0.5) < margin) return true;
  return false;
}

bool near_kink(const Problem& p, Index j, Index e, const CConvOpOptions& options, double margin) {
  if (near_jump(p, j, e, options, margin)) return true;
  const Vec3 v = voxel_coordinates(p, j, e, options);
  if (options.interpolation != Interpolation::NearestNeighbor)
    for (int k = 0; k < 3; ++k)
      if (std::abs(v[k] - std::round(v[k])) < margin) return true;
  const Vec3 q = ball_coordinates(p, j, e);
  if (options.coordinate_mapping == CoordinateMapping::BallToCubeRadial) {
    std::array<double, 3> a = {std::abs(q[0]), std::abs(q[1]), std::abs(q[2])};
    std::sort(a.begin(), a.end());
    return a[2] < margin || a[2] - a[1] < margin;  // the origin, or the max axis switches
  }
  if (options.coordinate_mapping == CoordinateMapping::BallToCubeVolumePreserving) {
    const double xy = sqr(q[0]) + sqr(q[1]);
    return xy < margin || std::abs(1.25 * sqr(q[2]) - xy) < margin ||
           std::abs(std::abs(q[0]) - std::abs(q[1])) < margin;
  }
  return false;
}

}  // namespace lagrad::cconv_ref
