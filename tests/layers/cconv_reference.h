#pragma once
// The slow, obviously-correct twin of the continuous convolution (Open3D's
// ml.ops.continuous_conv and continuous_conv_transpose): direct loops in double precision,
// written from the formulas in docs/continuous_conv_reference.md. Tests compare the fast
// float32 op against it and differentiate it with finite differences.
#include <array>
#include <vector>

#include "core/random.h"
#include "core/shape.h"
#include "layers/cconv_options.h"

namespace lagrad::cconv_ref {

using Vec3 = std::array<double, 3>;

// How the extents are given: one for all ([1]), one per output ([M]), one per output and axis
// ([M, 3]), or one per axis shared by all outputs ([1, 3]).
enum class ExtentKind { Shared, PerPoint, PerAxis, SharedPerAxis };

// One problem, laid out as the op takes it: filters [kd, kh, kw, in, out] (spatial axes z, y, x),
// positions [*, 3] as x, y, z.
struct Problem {
  Index kd = 0, kh = 0, kw = 0, in_channels = 0, out_channels = 0;
  std::vector<double> filters;
  std::vector<double> out_positions;  // [M, 3]
  std::vector<double> inp_positions;  // [N, 3]
  ExtentKind extent_kind = ExtentKind::Shared;
  std::vector<double> extents;  // [1], [M], [M, 3] or [3]
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

// --- random test problems ---

struct ProblemSpec {
  Index kd = 3, kh = 3, kw = 3;
  ExtentKind extent_kind = ExtentKind::Shared;
  bool inp_importance = false;
  bool neighbors_importance = false;
  bool offset = false;
  Index num_inp = 40, num_out = 24, in_channels = 2, out_channels = 3;
  double box = 1.0;  // positions in [0, box]^3 (smaller: more neighbors per row)
};

// A random problem whose numbers are all exact floats, so a float32 op sees the same inputs.
// Positions in [0, box]^3, extents about 0.5, except that the last 3 output points and the last
// 2 input points lie far away (empty rows, and inputs no row lists). Neighbors: brute force
// within 0.6 * the largest extent of the output, so some fall outside the filter shape.
// inp_importance in [-1, 1], neighbors_importance in [0.1, 1], offset (0.3, -0.2, 0.45).
Problem random_problem(const ProblemSpec& spec, Rng& rng);

// n values uniform in [-1, 1], exact floats.
std::vector<double> random_values(Index n, Rng& rng);

// Removes the neighbor entries e (of row j) for which drop(j, e) is true, keeping the rows and
// the neighbor importances consistent.
template <class Pred>
void drop_entries(Problem& p, Pred drop) {
  IndexVector index, splits{0};
  std::vector<double> importance;
  for (Index j = 0; j < p.num_out(); ++j) {
    for (Index e = p.neighbors_row_splits[j]; e < p.neighbors_row_splits[j + 1]; ++e) {
      if (drop(j, e)) continue;
      index.push_back(p.neighbors_index[e]);
      if (!p.neighbors_importance.empty()) importance.push_back(p.neighbors_importance[e]);
    }
    splits.push_back(static_cast<Index>(index.size()));
  }
  p.neighbors_index = std::move(index);
  p.neighbors_row_splits = std::move(splits);
  p.neighbors_importance = std::move(importance);
}

// The ball coordinates q = 2 (x_i - x_j) / extent_j of entry e, and its voxel coordinates.
Vec3 ball_coordinates(const Problem& p, Index j, Index e);
Vec3 voxel_coordinates(const Problem& p, Index j, Index e, const CConvOpOptions& options);

// True when entry e of row j lies within `margin` of a point where the convolution is not
// smooth in the positions, extents or offset: a voxel boundary or clamp limit of the
// interpolation (a rounding jump for nearest_neighbor), or a branch switch of the mapping.
bool near_kink(const Problem& p, Index j, Index e, const CConvOpOptions& options, double margin);

// Like near_kink, but only the jumps of nearest_neighbor (the value is continuous otherwise).
bool near_jump(const Problem& p, Index j, Index e, const CConvOpOptions& options, double margin);

}  // namespace lagrad::cconv_ref
