#pragma once
// Test helper: how far a neighbor list's entries stay from the kinks of the continuous
// convolution (voxel boundaries and clamp limits in v, rounding jumps for nearest, the region
// switches of the mappings in q), so that finite differences of the cconv tests stay on one
// smooth piece.
#include <algorithm>
#include <cmath>

#include "core/shape.h"
#include "layers/kernels/cconv_geometry.h"

namespace lagrad::testing {

// extents: one value per output row (per_axis: three), positions [*, 3].
inline double cconv_kink_margin(const kernels::CConvGeometry& g, const float* inp_pos, const float* out_pos,
                                const float* extents, bool per_axis, const IndexVector& index,
                                const IndexVector& splits) {
  double margin = 1e9;
  for (Index j = 0; j + 1 < static_cast<Index>(splits.size()); ++j)
    for (Index e = splits[j]; e < splits[j + 1]; ++e) {
      const Index i = index[e];
      float q[3];
      for (int a = 0; a < 3; ++a) {
        const float ext = extents[per_axis ? 3 * j + a : j];
        q[a] = (inp_pos[3 * i + a] - out_pos[3 * j + a]) * g.premap_scale(1.0f / ext);
      }
      if (g.mapping == CoordinateMapping::BallToCubeRadial) {
        float m[3] = {std::fabs(q[0]), std::fabs(q[1]), std::fabs(q[2])};
        std::sort(m, m + 3);
        margin = std::min(margin, double(m[2] - m[1]));
      } else if (g.mapping == CoordinateMapping::BallToCubeVolumePreserving) {
        // The cone between the polar caps and the band, then the wedge planes |x| = |y| of the
        // cylinder (the sphere-to-cylinder map scales x and y alike, so compare q's).
        margin = std::min(margin, std::fabs(1.25 * q[2] * q[2] - (q[0] * q[0] + q[1] * q[1])));
        margin = std::min(margin, std::fabs(double(std::fabs(q[0]) - std::fabs(q[1]))));
      }
      float v[3];
      kernels::voxel_coordinates(g, q, v);
      for (float x : v) {
        const double frac = x - std::floor(x);
        margin = std::min(margin, g.interpolation == Interpolation::NearestNeighbor ? std::fabs(frac - 0.5)
                                                                                   : std::min(frac, 1.0 - frac));
      }
    }
  return margin;
}

}  // namespace lagrad::testing
