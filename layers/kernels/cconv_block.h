#pragma once
// Internal to the cconv kernels: building the interpolated-feature block A of a range of rows,
// and the per-thread scratch buffers. Not part of the public API.
#include <tbb/enumerable_thread_specific.h>

#include <algorithm>
#include <cstring>
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

// A 4-float SIMD vector (GCC/Clang vector extension: SSE on x86-64, NEON on ARM); loads go
// through memcpy, so any alignment is fine.
typedef float Float4 __attribute__((vector_size(16)));
inline Float4 load4(const float* p) {
  Float4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void store4(float* p, Float4 v) { std::memcpy(p, &v, sizeof(v)); }

// arow[cell_c * cin + ch] += s * w_c * f[ch] for the corners with a nonzero weight.
inline void scatter_corners(const float* f, float s, const Corners& cr, int cin, float* arow) {
  for (int c = 0; c < cr.n; ++c) {
    const float ws = s * cr.w[c];
    if (ws == 0.0f) continue;
    float* dst = arow + static_cast<Index>(cr.cell[c]) * cin;
    const Float4 wv = {ws, ws, ws, ws};
    int k = 0;
    for (; k + 4 <= cin; k += 4) store4(dst + k, load4(dst + k) + wv * load4(f + k));
    for (; k < cin; ++k) dst[k] += ws * f[k];
  }
}

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
      scatter_corners(features + i * cin, s, cr, cin, arow);
    }
  }
}

// out[c] = f . g[cell[c] * cin ...] for the n corners. Each dot keeps four fixed lanes (the
// summation order never depends on alignment or threads); each chunk of f is loaded once for
// all corners.
inline void corner_dots(const float* f, const float* g, const Corners& cr, int cin, float out[8]) {
  Float4 acc[8];
  const float* gc[8];
  for (int c = 0; c < cr.n; ++c) {
    gc[c] = g + static_cast<Index>(cr.cell[c]) * cin;
    acc[c] = Float4{0.0f, 0.0f, 0.0f, 0.0f};
  }
  int k = 0;
  if (cr.n == 8) {
    for (; k + 4 <= cin; k += 4) {
      const Float4 fv = load4(f + k);
      for (int c = 0; c < 8; ++c) acc[c] += fv * load4(gc[c] + k);
    }
  } else {
    for (; k + 4 <= cin; k += 4) {
      const Float4 fv = load4(f + k);
      for (int c = 0; c < cr.n; ++c) acc[c] += fv * load4(gc[c] + k);
    }
  }
  for (int c = 0; c < cr.n; ++c) {
    float s = (acc[c][0] + acc[c][2]) + (acc[c][1] + acc[c][3]);
    for (int q = k; q < cin; ++q) s += f[q] * gc[c][q];
    out[c] = s;
  }
}

}  // namespace lagrad::kernels::detail
