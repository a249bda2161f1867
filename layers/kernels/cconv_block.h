#pragma once
// Internal to the cconv kernels: per-thread scratch, the batched geometry of a row's entries,
// the corner scatter and dot products, and building the interpolated-feature block A of a range
// of rows. Not part of the public API.
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cconv_kernels.h"

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
// (tbb::enumerable_thread_specific<Scratch> lost its elements' buffers at every call with
// Debian 12's oneTBB 2021.8, per valgrind: ~11 MB per DLF training iteration.)
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

// The geometry of up to kLanes consecutive entries [e0, e0 + count) of row j.
struct EntryBatch {
  Index e0 = 0;
  int count = 0;
  float q[3][kLanes];        // scaled relative positions
  float inv_ext[3][kLanes];  // inverse extents
  CornerBatch corners;
};

template <bool with_grad>
inline void load_batch(const CConvGeometry& g, const CConvEdges& E, Index j, Index e0, Index e1, EntryBatch& B) {
  B.e0 = e0;
  B.count = static_cast<int>(std::min<Index>(kLanes, e1 - e0));
  for (int l = 0; l < kLanes; ++l) {
    if (l < B.count) {
      float r[3], inv[3];
      E.edge_frame(j, E.col_index[e0 + l], r, inv);
      for (int a = 0; a < 3; ++a) {
        B.inv_ext[a][l] = inv[a];
        B.q[a][l] = r[a] * g.premap_scale(inv[a]);
      }
    } else {  // padding lanes: the origin, discarded
      for (int a = 0; a < 3; ++a) {
        B.q[a][l] = 0.0f;
        B.inv_ext[a][l] = 1.0f;
      }
    }
  }
  const FloatV q[3] = {loadv(B.q[0]), loadv(B.q[1]), loadv(B.q[2])};
  batch_corners<with_grad>(g, q, B.corners);
}

// arow[cell_c * cin + ch] += s * w_c * f[ch] for the corners of lane l with a nonzero weight.
inline void scatter_corners(const float* f, float s, const CornerBatch& cb, int l, int cin, float* arow) {
  for (int c = 0; c < cb.n; ++c) {
    const float ws = s * cb.w[c][l];
    if (ws == 0.0f) continue;
    float* dst = arow + static_cast<Index>(cb.cell[c][l]) * cin;
    const FloatV wv = splat(ws);
    int k = 0;
    for (; k + kLanes <= cin; k += kLanes) storev(dst + k, loadv(dst + k) + wv * loadv(f + k));
    for (; k + 4 <= cin; k += 4) store4(dst + k, load4(dst + k) + ws * load4(f + k));  // narrow rows (cin = 4, 8, ...)
    for (; k < cin; ++k) dst[k] += ws * f[k];
  }
}

// out[c] = f . g[cell_c * cin ...] for the corners of lane l: one vector accumulator per
// corner, each chunk of f loaded once for all corners.
inline void corner_dots(const float* f, const float* g, const CornerBatch& cb, int l, int cin, float out[8]) {
  const float* gc[8];
  for (int c = 0; c < cb.n; ++c) {
    gc[c] = g + static_cast<Index>(cb.cell[c][l]) * cin;
    out[c] = 0.0f;
  }
  int k = 0;
  if (cin >= kLanes) {
    FloatV acc[8];
    for (int c = 0; c < cb.n; ++c) acc[c] = FloatV{};
    if (cb.n == 8) {
      for (; k + kLanes <= cin; k += kLanes) {
        const FloatV fv = loadv(f + k);
        for (int c = 0; c < 8; ++c) acc[c] += fv * loadv(gc[c] + k);
      }
    } else {
      for (; k + kLanes <= cin; k += kLanes) {
        const FloatV fv = loadv(f + k);
        for (int c = 0; c < cb.n; ++c) acc[c] += fv * loadv(gc[c] + k);
      }
    }
    for (int c = 0; c < cb.n; ++c) out[c] = reduce_lanes(acc[c]);
  }
  if (k + 4 <= cin) {  // narrow rows (cin = 4, 8, ...) and 4-float tails
    Float4 acc4[8];
    for (int c = 0; c < cb.n; ++c) acc4[c] = Float4{};
    for (; k + 4 <= cin; k += 4) {
      const Float4 fv = load4(f + k);
      for (int c = 0; c < cb.n; ++c) acc4[c] += fv * load4(gc[c] + k);
    }
    for (int c = 0; c < cb.n; ++c) out[c] += reduce_lanes(acc4[c]);
  }
  for (; k < cin; ++k)
    for (int c = 0; c < cb.n; ++c) out[c] += f[k] * gc[c][k];
}

// A[(j - j0), cell*cin + ch] = sum_{e in row j} s_e sum_c [cell_c == cell] w_c f[col(e), ch]
// for rows j in [j0, j1). A has (j1 - j0) rows of cells*cin floats. The scatter stays inside
// the row of its own output, so blocks are independent.
inline void build_interp_block(const CConvGeometry& g, const CConvEdges& E, const float* features, int cin,
                               Index j0, Index j1, float* A) {
  const Index width = static_cast<Index>(g.cells()) * cin;
  EntryBatch B;
  for (Index j = j0; j < j1; ++j) {
    float* arow = A + (j - j0) * width;
    std::fill(arow, arow + width, 0.0f);  // row by row: the row is still in L1 for the scatter
    const Index e1 = E.row_splits[j + 1];
    for (Index e0 = E.row_splits[j]; e0 < e1; e0 += kLanes) {
      load_batch<false>(g, E, j, e0, e1, B);
      for (int l = 0; l < B.count; ++l) {
        const Index e = e0 + l;
        const float s = E.edge_scale[e];
        if (s == 0.0f) continue;
        scatter_corners(features + E.col_index[e] * cin, s, B.corners, l, cin, arow);
      }
    }
  }
}

}  // namespace lagrad::kernels::detail
