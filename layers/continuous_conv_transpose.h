#pragma once
// ContinuousConvTranspose: the transpose of ContinuousConv (Open3D's continuous_conv_transpose
// op as a layer). Features live at the input points; each input point q spreads its feature
// over the output points p within extent_q / 2, through the filter evaluated at p - x_q:
//
//   out[p] = imp_p * sum_{q : p in N(q)} a_qp / psi_q * sum_c w_c(p - x_q) h_q^T kernel[cell_c]
//
// psi_q is the number of neighbors of q (or the sum of their window values) when normalize is
// on. With the kernel's channel axes swapped and the positions exchanged it is the adjoint of
// ContinuousConv in the features. Options are ContinuousConv's (use_dense_layer_for_center is
// not supported); parameters "kernel" [kd, kh, kw, in, out], "bias" [out], buffer "offset".
#include "continuous_conv.h"

namespace lagrad {

// Optional arguments of a ContinuousConvTranspose call: the neighbor arguments (hash_table over
// out_positions, user lists with rows = input points listing output points, a shared search
// result (cconv_radius_search(out_positions, inp_positions, extents, ...))) and:
struct ContinuousConvTransposeCall : CConvNeighborArgs {
  Tensor out_importance;  // [num_out], scales the result rows
};

class ContinuousConvTranspose : public CConvLayerBase {
 public:
  explicit ContinuousConvTranspose(ContinuousConvOptions options);
  ContinuousConvTranspose(Index filters, std::vector<Index> kernel_size)
      : ContinuousConvTranspose(ContinuousConvOptions(filters, std::move(kernel_size))) {}

  // inp_features [M, in] at inp_positions [M, 3]; out_positions [N, 3]; extents per input
  // point: scalar/[1], [M] or [M, 3]. Returns [N, filters].
  Tensor forward(const Tensor& inp_features, const Tensor& inp_positions, const Tensor& out_positions,
                 const Tensor& extents, const ContinuousConvTransposeCall& call = {});
  Tensor forward(const Tensor& inp_features, const Tensor& inp_positions, const Tensor& out_positions,
                 float extent, const ContinuousConvTransposeCall& call = {}) {
    return forward(inp_features, inp_positions, out_positions, Tensor::scalar(extent), call);
  }
  template <class... A>
  Tensor operator()(A&&... a) {
    return forward(std::forward<A>(a)...);
  }
};

}  // namespace lagrad
