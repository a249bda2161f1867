#pragma once
// Random cconv layer configurations on which finite differences stay on one smooth piece: the
// neighbor entries keep away from the filter's kinks (test_cconv_layer_kinks.h), every pair keeps
// away from the search boundary (a kink or jump unless the window vanishes smoothly there) and
// from the kinks of the metric's normalized distance (L1: an axis where d_a = 0; Linf: two axes
// tied for the maximum). Header-only.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "cconv_layer_reference.h"
#include "core/random.h"
#include "layers/kernels/cconv_geometry.h"
#include "test_cconv_layer_kinks.h"

namespace lagrad::testing {

struct KinkFreeSpec {
  Metric metric = Metric::L2;
  CoordinateMapping mapping = CoordinateMapping::BallToCubeRadial;
  Index kernel_size = 3;
  size_t min_entries = 20;
  float box = 0.6f;                // positions uniform in [0, box]^3
  double filter_margin = 0.01;     // voxel / mapping kinks (cconv_kink_margin)
  double boundary_margin = 0.005;  // |r - 1| over all pairs; 0: not required
  double metric_margin = 0.005;    // in d_a / R_a, for L1 and Linf
};

// min over the listed entries of the distance to the metric's kinks, in units of d_a / R_a.
inline double metric_kink_margin(Metric metric, const Tensor& cols, const Tensor& rows, const Tensor& extents,
                                 const RefNeighbors& list) {
  if (metric == Metric::L2) return 1e9;
  cconv_ref::Problem geo;
  geo.extent_kind = reference_extent_kind(extents, rows.dim(0));
  geo.extents = to_double(extents);
  double margin = 1e9;
  for (Index j = 0; j + 1 < static_cast<Index>(list.row_splits.size()); ++j) {
    const cconv_ref::Vec3 ext = geo.extent_of(j);
    for (Index e = list.row_splits[j]; e < list.row_splits[j + 1]; ++e) {
      const Index i = list.index[e];
      double x[3];
      for (int a = 0; a < 3; ++a) x[a] = std::fabs(double(cols.data()[3 * i + a]) - rows.data()[3 * j + a]) / (0.5 * ext[a]);
      std::sort(x, x + 3);
      margin = std::min(margin, metric == Metric::L1 ? x[0] : x[2] - x[1]);
    }
  }
  return margin;
}

// Fills cols and rows (the list's columns and rows: for ContinuousConv the input and output
// points) with the first seed's positions that meet the spec; false if none of 5000 seeds does.
inline bool find_kink_free_positions(Tensor& cols, Tensor& rows, const Tensor& extents, const KinkFreeSpec& spec,
                                     std::uint64_t seed) {
  kernels::CConvGeometry g;
  g.mapping = spec.mapping;
  g.k[0] = g.k[1] = g.k[2] = static_cast<int>(spec.kernel_size);
  // Per-row, per-axis extents for cconv_kink_margin, whatever the layout.
  cconv_ref::Problem geo;
  geo.extent_kind = reference_extent_kind(extents, rows.dim(0));
  geo.extents = to_double(extents);
  std::vector<float> ext3;
  for (Index j = 0; j < rows.dim(0); ++j)
    for (double v : geo.extent_of(j)) ext3.push_back(static_cast<float>(v));
  for (std::uint64_t s = seed; s < seed + 5000; ++s) {
    Rng rng(s);
    for (Tensor* t : {&cols, &rows})
      for (Index k = 0; k < t->numel(); ++k) t->data()[k] = rng.uniform(0.0f, spec.box);
    const RefNeighbors list = reference_search(cols, rows, extents, spec.metric, false);
    if (list.index.size() < spec.min_entries) continue;
    if (spec.boundary_margin > 0.0 && list.boundary_margin <= spec.boundary_margin) continue;
    if (metric_kink_margin(spec.metric, cols, rows, extents, list) <= spec.metric_margin) continue;
    if (cconv_kink_margin(g, cols.data(), rows.data(), ext3.data(), true, list.index, list.row_splits) <=
        spec.filter_margin)
      continue;
    return true;
  }
  return false;
}

}  // namespace lagrad::testing
