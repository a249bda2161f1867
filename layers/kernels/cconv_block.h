#pragma once
// Internal to the cconv kernels: building the interpolated-feature block A of a range of rows,
// and the per-thread scratch buffers. Not part of the public API.
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "layers/kernels/cconv_kernels.h"

namespace lagrad::kernels::detail {

// Scratch owned by one thread for the duration of one kernel call (grown, never shrunk),
// 64-byte aligned: the rows of A and G are multiples of 64 bytes apart when cin is a multiple
// of 16, so wide vector loads and stores never straddle cache lines.
struct Scratch {
  std::vector<float> a;
  float* get_a(size_t n) {
    if (a.size() < n + 16) a.resize(n + 16);
    const auto p = reinterpret_cast<std::uintptr_t>(a.data());
    return a.data() + ((64 - p % 64) % 64) / sizeof(float);
  }
};
// One Scratch per thread slot of the calling task arena, for the duration of one kernel call.
// (tbb::enumerable_thread_specific<Scratch> was measured to lose its elements' buffers at every
// call with Debian 12's oneTBB 2021.8 under valgrind: ~11 MB per training iteration.)
class ThreadScratch {
 public:
  ThreadScratch() : slots_(static_cast<size_t>(std::max(1, tbb::this_task_arena::max_concurrency()))) {}
  Scratch& local() {
    const int slot = tbb::this_task_arena::current_thread_index();
    return slots_[static_cast<size_t>(slot >= 0 && static_cast<size_t>(slot) < slots_.size() ? slot : 0)];
  }

 private:
  std::vector<Scratch> slots_;
};

// The SIMD vector of the channel loops (GCC/Clang vector extension), as wide as the target
// allows: 16 floats with AVX-512, 8 with AVX, else 4 (SSE, NEON). Loads and stores go through
// memcpy, so any alignment is fine. The width is fixed at compile time, so the summation order
// of the dot products below never depends on data alignment or on the thread count.
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#elif defined(__AVX__)
constexpr int kLanes = 8;
#else
constexpr int kLanes = 4;
#endif
typedef float FloatV __attribute__((vector_size(kLanes * sizeof(float))));
inline FloatV loadv(const float* p) {
  FloatV v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void storev(float* p, FloatV v) { std::memcpy(p, &v, sizeof(v)); }
inline FloatV splat(float x) { return FloatV{} + x; }
// Sum of the lanes in a fixed pairwise order.
inline float reduce_lanes(FloatV v) {
  float l[kLanes];
  std::memcpy(l, &v, sizeof(v));
  for (int w = kLanes / 2; w >= 1; w /= 2)
    for (int i = 0; i < w; ++i) l[i] += l[i + w];
  return l[0];
}

// arow[cell_c * cin + ch] += s * w_c * f[ch] for the corners with a nonzero weight.
inline void scatter_corners(const float* f, float s, const Corners& cr, int cin, float* arow) {
  for (int c = 0; c < cr.n; ++c) {
    const float ws = s * cr.w[c];
    if (ws == 0.0f) continue;
    float* dst = arow + static_cast<Index>(cr.cell[c]) * cin;
    const FloatV wv = splat(ws);
    int k = 0;
    for (; k + kLanes <= cin; k += kLanes) storev(dst + k, loadv(dst + k) + wv * loadv(f + k));
    for (; k < cin; ++k) dst[k] += ws * f[k];
  }
}

// out[c] = f . g[cell[c] * cin ...] for the n corners: one vector accumulator per corner, each
// chunk of f loaded once for all corners.
inline void corner_dots(const float* f, const float* g, const Corners& cr, int cin, float out[8]) {
  FloatV acc[8];
  const float* gc[8];
  for (int c = 0; c < cr.n; ++c) {
    gc[c] = g + static_cast<Index>(cr.cell[c]) * cin;
    acc[c] = FloatV{};
  }
  int k = 0;
  if (cr.n == 8) {
    for (; k + kLanes <= cin; k += kLanes) {
      const FloatV fv = loadv(f + k);
      for (int c = 0; c < 8; ++c) acc[c] += fv * loadv(gc[c] + k);
    }
  } else {
    for (; k + kLanes <= cin; k += kLanes) {
      const FloatV fv = loadv(f + k);
      for (int c = 0; c < cr.n; ++c) acc[c] += fv * loadv(gc[c] + k);
    }
  }
  for (int c = 0; c < cr.n; ++c) {
    float s = reduce_lanes(acc[c]);
    for (int q = k; q < cin; ++q) s += f[q] * gc[c][q];
    out[c] = s;
  }
}

// A[(j - j0), cell*cin + ch] = sum_{e in row j} s_e sum_c [cell_c == cell] w_c f[col(e), ch]
// for rows j in [j0, j1). A has (j1 - j0) rows of cells*cin floats. The scatter stays inside
// the row of its own output, so blocks are independent.
inline void build_interp_block(const CConvGeometry& g, const CConvEdges& E, const float* features, int cin,
                               Index j0, Index j1, float* A) {
  const Index width = static_cast<Index>(g.cells()) * cin;
  Corners cr;
  for (Index j = j0; j < j1; ++j) {
    float* arow = A + (j - j0) * width;
    std::fill(arow, arow + width, 0.0f);  // row by row: the row is still in L1 for the scatter
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

}  // namespace lagrad::kernels::detail
