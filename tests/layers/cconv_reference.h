#pragma once
// The slow, obviously-correct twin of the continuous convolution (Open3D's
// ml.ops.continuous_conv and continuous_conv_transpose): direct loops in double precision,
// written from the formulas in docs/continuous_conv_reference.md. Tests compare the fast
// float32 op against it and differentiate it with finite differences.
#include <array>
#include <vector>

#include "core/shape.h"
#include "layers/cconv_options.h"

namespace lagrad::cconv_ref {

using Vec3 = std::array<double, 3>;

enum class ExtentKind { Shared, PerPoint, PerAxis };  // [1], [M], [M, 3]

// One problem, laid out as the op takes it: filters [kd, kh, kw, in, out] (spatial axes z, y, x),
// positions [*, 3] as x, y, z.
struct Problem {
  Index kd = 0, kh = 0, kw = 0, in_channels = 0, out_channels = 0;
  std::vector<double> filters;
  std::vector<double> out_positions;  // [M, 3]
  std::vector<double> inp_positions;  // [N, 3]
  ExtentKind extent_kind = ExtentKind::Shared;
  std::vector<double> extents;  // [1], [M] or [M, 3]
  Vec3 offset{0.0, 0.0, 0.0};   // voxel units
  std::vector<double> inp_importance;        // [N], or empty for none
  IndexVector neighbors_index;               // [E]
  IndexVector neighbors_row_splits;          // [M + 1]
  std::vector<double> neighbors_importance;  // [E], or empty for none

  Index num_out() const { return static_cast<Index>(out_positions.size() / 3); }
  Index num_inp() const { return static_cast<Index>(inp_positions.size() / 3); }
  Index num_entries() const { return static_cast<Index>(neighbors_index.size()); }
  // The filter's voxel counts along x, y, z.
  std::array<Index, 3> sizes_xyz() const { return {kw, kh, kd}; }
  // The extent of output point j along x, y, z.
  Vec3 extent_of(Index j) const;
};

// The three mappings from the unit ball (q = 2 d / extent) to [-1, 1]^3.
Vec3 map_ball_to_cube_radial(const Vec3& q);
Vec3 map_sphere_to_cylinder(const Vec3& q);
Vec3 map_cylinder_to_cube(const Vec3& q);
Vec3 map_ball_to_cube_volume_preserving(const Vec3& q);

// Continuous voxel coordinates (x, y, z) in the filter array for the relative position
// d = x_i - x_j, per-axis extent and the options' mapping and align_corners.
Vec3 filter_coordinates(const Vec3& d, const Vec3& extent, const std::array<Index, 3>& sizes_xyz,
                        const Vec3& offset, const CConvOpOptions& options);

// A filter voxel (linear index (z * kh + y) * kw + x) and its interpolation weight.
struct Tap {
  Index voxel;
  double weight;
};
// Interpolation taps for voxel coordinates v (x, y, z).
std::vector<Tap> interpolate(const Vec3& v, const std::array<Index, 3>& sizes_xyz,
                             Interpolation interpolation);

// psi_j: the sum of the neighbor importances of row j (the row length without them).
std::vector<double> row_normalizers(const Problem& p);

// out[j] = 1/psi_j * sum_e a_e * m_i * f_i^T G_e. features: [N, in]. Returns [M, out].
std::vector<double> continuous_conv(const Problem& p, const std::vector<double>& features,
                                    const CConvOpOptions& options);

// z[i] = m_i * sum over entries e = (j, i) of a_e * nu_j * g_j^T G_e. features: [M, in] at the
// output points. Returns [N, out].
std::vector<double> continuous_conv_transpose(const Problem& p,
                                              const std::vector<double>& features,
                                              const CConvOpOptions& options);

// filters [kd, kh, kw, in, out] -> [kd, kh, kw, out, in].
std::vector<double> swap_filter_channels(const Problem& p);

// Brute-force neighbor search, L2, inclusive radius per query, rows sorted by point index.
struct NeighborList {
  IndexVector index;
  IndexVector row_splits;
  std::vector<double> distance_sqr;
};
NeighborList brute_force_radius_search(const std::vector<double>& points,
                                       const std::vector<double>& queries,
                                       const std::vector<double>& radii);

}  // namespace lagrad::cconv_ref
