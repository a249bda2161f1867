#pragma once
// Internal to the cconv kernels: building the interpolated-feature block A of a range of rows,
// and the per-thread scratch buffers. Not part of the public API.
#include <tbb/enumerable_thread_specific.h>

#include <algorithm>
#include <vector>

#include "layers/kernels/cconv_kernels.h"

namespace lagrad::kernels::detail {

// Scratch owned by one thread for the duration of one kernel call (grown, never shrunk).
struct Scratch {
  std::vector<float> a;
  std::vector<float> b;
  float* get_a(size_t n) {
    if (a.size() < n) a.resize(n);
    return a.data();
  }
  float* get_b(size_t n) {
    if (b.size() < n) b.resize(n);
    return b.data();
  }
};
using ThreadScratch = tbb::enumerable_thread_specific<Scratch>;

// A[(j - j0), cell*cin + ch] = sum_{e in row j} s_e sum_c [cell_c == cell] w_c f[col(e), ch]
// for rows j in [j0, j1). A has (j1 - j0) rows of cells*cin floats. The scatter stays inside
// the row of its own output, so blocks are independent.
inline void build_interp_block(const CConvGeometry& g, const CConvEdges& E, const float* features, int cin,
                               Index j0, Index j1, float* A) {
  const Index width = static_cast<Index>(g.cells()) * cin;
  std::fill(A, A + (j1 - j0) * width, 0.0f);
  Corners cr;
  for (Index j = j0; j < j1; ++j) {
    float* arow = A + (j - j0) * width;
    for (Index e = E.row_splits[j]; e < E.row_splits[j + 1]; ++e) {
      const float s = E.edge_scale[e];
      if (s == 0.0f) continue;
      const Index i = E.col_index[e];
      float r[3], inv_ext[3];
      E.edge_frame(j, i, r, inv_ext);
      edge_corners(g, r, inv_ext, cr);
      const float* fi = features + i * cin;
      for (int c = 0; c < cr.n; ++c) {
        const float ws = s * cr.w[c];
        if (ws == 0.0f) continue;
        float* dst = arow + static_cast<Index>(cr.cell[c]) * cin;
        for (int ch = 0; ch < cin; ++ch) dst[ch] += ws * fi[ch];
      }
    }
  }
}

}  // namespace lagrad::kernels::detail
