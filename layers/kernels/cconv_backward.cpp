// Backward passes of the cconv kernels: the filter gradient (A^T dout per row block, partial sums
// over fixed row ranges combined in order) and the per-edge gradients (G = dout K^T per row
// block, then per edge the 8 corner dot products f_i . G_j[cell_c] and the chain rule through
// interpolation and coordinate mapping).
#include <Eigen/Core>
#include <vector>

#include "core/parallel.h"
#include "layers/kernels/cconv_block.h"
#include "layers/kernels/cconv_kernels.h"

namespace lagrad::kernels {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ColMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

namespace {
// Number of partial filter gradients: fixed (depends on the problem size only), enough for
// load balance on the machines we target, small enough to keep their memory modest.
constexpr Index kFilterGradParts = 16;
}  // namespace

void cconv_filter_grad(const CConvGeometry& g, const CConvEdges& edges, const float* col_features, int cin,
                       const float* dout, int cout, float* dfilter, bool accumulate) {
  const Index rows = edges.num_rows;
  const Index width = static_cast<Index>(g.cells()) * cin;
  const Index size = width * cout;
  const Index nb = num_chunks(rows, kCConvRowBlock);
  const Index parts = std::max<Index>(1, std::min(nb, kFilterGradParts));
  std::vector<float> partial(static_cast<size_t>(parts * size));
  detail::ThreadScratch scratch;
  parallel_for(parts, 1, [&](Index p0, Index p1) {
    float* A = scratch.local().get_a(static_cast<size_t>(kCConvRowBlock * width));
    for (Index p = p0; p < p1; ++p) {
      // Column-major partial: Eigen then runs the product with the long axis (cells*cin) as
      // its row dimension, which is markedly faster than the row-major (transposed) variant.
      Eigen::Map<ColMat> D(partial.data() + p * size, width, cout);
      D.setZero();
      for (Index b = p * nb / parts; b < (p + 1) * nb / parts; ++b) {
        const Index j0 = b * kCConvRowBlock;
        const Index j1 = std::min(rows, j0 + kCConvRowBlock);
        detail::build_interp_block(g, edges, col_features, cin, j0, j1, A);
        D.noalias() += Eigen::Map<const RowMat>(A, j1 - j0, width).transpose() *
                       Eigen::Map<const RowMat>(dout + j0 * cout, j1 - j0, cout);
      }
    }
  });
  // dfilter[r, o] (row-major) = sum over parts in order of partial[p][o * width + r]: sum the
  // parts over contiguous chunks of the column-major index (vectorized), then write transposed.
  constexpr Index kChunk = 1024;
  parallel_for(num_chunks(size, kChunk), 1, [&](Index c0, Index c1) {
    float acc[kChunk];
    for (Index c = c0; c < c1; ++c) {
      const Index k0 = c * kChunk, n = std::min(kChunk, size - k0);
      std::copy(partial.data() + k0, partial.data() + k0 + n, acc);
      for (Index p = 1; p < parts; ++p) {
        const float* src = partial.data() + p * size + k0;
        for (Index k = 0; k < n; ++k) acc[k] += src[k];
      }
      for (Index k = 0; k < n; ++k) {
        const Index o = (k0 + k) / width, r = (k0 + k) % width;
        float& d = dfilter[r * cout + o];
        d = accumulate ? d + acc[k] : acc[k];
      }
    }
  });
}

void cconv_edge_grad(const CConvGeometry& g, const CConvEdges& edges, const float* col_features, int cin,
                     const float* filter, const float* dout, int cout, const CConvEdgeGradOut& out) {
  const Index rows = edges.num_rows;
  const Index width = static_cast<Index>(g.cells()) * cin;
  const Index nb = num_chunks(rows, kCConvRowBlock);
  const bool need_geom = out.grel || out.gext || out.goff_rows;
  detail::ThreadScratch scratch;
  // K^T stored row-major [cout, width] once per call: Eigen packs that operand on every block
  // product, and packing it from this layout is contiguous (from K's layout it is a slow
  // transposing gather).
  const RowMat Kt = Eigen::Map<const RowMat>(filter, width, cout).transpose();
  parallel_for(nb, 1, [&](Index b0, Index b1) {
    float* G = scratch.local().get_a(static_cast<size_t>(kCConvRowBlock * width));
    detail::EntryBatch B;
    const CornerBatch& cb = B.corners;
    for (Index b = b0; b < b1; ++b) {
      const Index j0 = b * kCConvRowBlock;
      const Index j1 = std::min(rows, j0 + kCConvRowBlock);
      Eigen::Map<RowMat> Gm(G, j1 - j0, width);
      Gm.noalias() = Eigen::Map<const RowMat>(dout + j0 * cout, j1 - j0, cout) * Kt;
      for (Index j = j0; j < j1; ++j) {
        const float* grow = G + (j - j0) * width;
        float goff[3] = {0.0f, 0.0f, 0.0f};
        const Index e_end = edges.row_splits[j + 1];
        for (Index e0 = edges.row_splits[j]; e0 < e_end; e0 += kLanes) {
          if (need_geom)
            detail::load_batch<true>(g, edges, j, e0, e_end, B);
          else
            detail::load_batch<false>(g, edges, j, e0, e_end, B);
          for (int l = 0; l < B.count; ++l) {
            const Index e = e0 + l;
            float tc[8];
            detail::corner_dots(col_features + edges.col_index[e] * cin, grow, cb, l, cin, tc);
            float te = 0.0f;
            for (int c = 0; c < cb.n; ++c) te += cb.w[c][l] * tc[c];
            if (out.t) out.t[e] = te;
            if (!need_geom) continue;
            const float s = edges.edge_scale[e];
            float gv[3] = {0.0f, 0.0f, 0.0f};
            for (int c = 0; c < cb.n; ++c)
              for (int a = 0; a < 3; ++a) gv[a] += tc[c] * cb.dw[c][a][l];
            for (int a = 0; a < 3; ++a) gv[a] *= s;
            const float q[3] = {B.q[0][l], B.q[1][l], B.q[2][l]};
            const float inv[3] = {B.inv_ext[0][l], B.inv_ext[1][l], B.inv_ext[2][l]};
            float gr[3], gx[3];
            edge_chain(g, cb, l, q, gv, inv, gr, gx);
            if (out.grel)
              for (int a = 0; a < 3; ++a) out.grel[3 * e + a] = gr[a];
            if (out.gext)
              for (int a = 0; a < 3; ++a) out.gext[3 * e + a] = gx[a];
            for (int a = 0; a < 3; ++a) goff[a] += gv[a];
          }
        }
        if (out.goff_rows)
          for (int a = 0; a < 3; ++a) out.goff_rows[3 * j + a] = goff[a];
      }
    }
  });
}

}  // namespace lagrad::kernels
