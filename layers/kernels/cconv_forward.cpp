// Forward pass of the cconv kernels: per row block, gather the interpolated features into A,
// then one GEMM with the filter.
#include <Eigen/Core>

#include "core/parallel.h"
#include "layers/kernels/cconv_block.h"
#include "layers/kernels/cconv_kernels.h"

namespace lagrad::kernels {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void cconv_gather_gemm(const CConvGeometry& g, const CConvEdges& edges, const float* col_features, int cin,
                       const float* filter, int cout, float* out) {
  const Index rows = edges.num_rows;
  const Index width = static_cast<Index>(g.cells()) * cin;
  const Index nb = num_chunks(rows, kCConvRowBlock);
  detail::ThreadScratch scratch;
  const Eigen::Map<const RowMat> K(filter, width, cout);
  parallel_for(nb, 1, [&](Index b0, Index b1) {
    float* A = scratch.local().get_a(static_cast<size_t>(kCConvRowBlock * width));
    for (Index b = b0; b < b1; ++b) {
      const Index j0 = b * kCConvRowBlock;
      const Index j1 = std::min(rows, j0 + kCConvRowBlock);
      detail::build_interp_block(g, edges, col_features, cin, j0, j1, A);
      Eigen::Map<RowMat> O(out + j0 * cout, j1 - j0, cout);
      O.noalias() = Eigen::Map<const RowMat>(A, j1 - j0, width) * K;
    }
  });
}

void cconv_transpose_filter(const float* filter, int cells, int cin, int cout, float* out) {
  parallel_for(cells, 1, [&](Index c0, Index c1) {
    for (Index c = c0; c < c1; ++c) {
      const float* src = filter + c * cin * cout;
      float* dst = out + c * cin * cout;
      for (int ch = 0; ch < cin; ++ch)
        for (int o = 0; o < cout; ++o) dst[o * cin + ch] = src[ch * cout + o];
    }
  });
}

}  // namespace lagrad::kernels
