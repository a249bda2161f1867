// The feature gradient of the cconv kernels (also the transpose conv's): two algorithms for the
// same sum, chosen by the channel counts alone (so the result never depends on the thread count).
#include <Eigen/Core>

#include "core/parallel.h"
#include "core/uninit_vector.h"
#include "layers/kernels/cconv_block.h"
#include "layers/kernels/cconv_kernels.h"

namespace lagrad::kernels {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {
// out[cin] += ws_c * h[cell_c * cin ...] for the corners of lane l with a nonzero weight.
inline void gather_corner_rows(const float* h, float s, const CornerBatch& cb, int l, int cin, float* out) {
  for (int c = 0; c < cb.n; ++c) {
    const float ws = s * cb.w[c][l];
    if (ws == 0.0f) continue;
    const float* src = h + static_cast<Index>(cb.cell[c][l]) * cin;
    const FloatV wv = splat(ws);
    int k = 0;
    for (; k + kLanes <= cin; k += kLanes) storev(out + k, loadv(out + k) + wv * loadv(src + k));
    for (; k + 4 <= cin; k += 4) store4(out + k, load4(out + k) + ws * load4(src + k));
    for (; k < cin; ++k) out[k] += ws * src[k];
  }
}
}  // namespace

// H costs cells*cin floats per result point: at most 8x dout's cout, so that the scratch stays
// of the order of the layer's own tensors (conv0 of DLF, 4 -> 32 with 64 cells: exactly 8x).
bool cconv_feature_grad_contracts_first(int cells, int cin, int cout) { return cin < cout && cells * cin <= 8 * cout; }

void cconv_feature_grad(const CConvGeometry& g, const CConvEdges& edges, const float* dout, int cout,
                        const float* filter, int cin, float* out) {
  const int cells = g.cells();
  if (!cconv_feature_grad_contracts_first(cells, cin, cout)) {
    // Gather dout (cout channels) per row block, then one GEMM with the transposed filter.
    std::vector<float> kt(static_cast<size_t>(cells) * cin * cout);
    cconv_transpose_filter(filter, cells, cin, cout, kt.data());
    cconv_gather_gemm(g, edges, dout, cout, kt.data(), cin, out);
    return;
  }
  // Narrow input (cin < cout, cells*cin <= 8 cout): contract dout with the filter first, H[col] = dout[col] K^T
  // ([cols, cells*cin], 64-row blocks), then gather cin channels per corner straight into the
  // output row. Same GEMM FLOPs in a wide shape ([64 x cout] x [cout x cells*cin] instead of an
  // output only cin wide), and a gather of cin instead of cout channels per corner.
  const Index width = static_cast<Index>(cells) * cin;
  const Index cols = edges.num_cols;
  UninitVector<float> h(static_cast<size_t>(cols * width));
  const RowMat Kt = Eigen::Map<const RowMat>(filter, width, cout).transpose();
  parallel_for(num_chunks(cols, kCConvRowBlock), 1, [&](Index b0, Index b1) {
    for (Index b = b0; b < b1; ++b) {
      const Index j0 = b * kCConvRowBlock, j1 = std::min(cols, j0 + kCConvRowBlock);
      Eigen::Map<RowMat>(h.data() + j0 * width, j1 - j0, width).noalias() =
          Eigen::Map<const RowMat>(dout + j0 * cout, j1 - j0, cout) * Kt;
    }
  });
  parallel_for(num_chunks(edges.num_rows, kCConvRowBlock), 1, [&](Index b0, Index b1) {
    detail::EntryBatch B;
    for (Index j = b0 * kCConvRowBlock; j < std::min(edges.num_rows, b1 * kCConvRowBlock); ++j) {
      float* orow = out + j * cin;
      std::fill(orow, orow + cin, 0.0f);
      const Index e1 = edges.row_splits[j + 1];
      for (Index e0 = edges.row_splits[j]; e0 < e1; e0 += kLanes) {
        detail::load_batch<false>(g, edges, j, e0, e1, B);
        for (int l = 0; l < B.count; ++l) {
          const Index e = e0 + l;
          const float s = edges.edge_scale[e];
          if (s == 0.0f) continue;
          gather_corner_rows(h.data() + edges.col_index[e] * width, s, B.corners, l, cin, orow);
        }
      }
    }
  });
}

}  // namespace lagrad::kernels
