#pragma once
// ContinuousConv: Open3D-ML's continuous convolution layer (Ummenhofer & Koltun, ICLR 2020),
// with Open3D's options, defaults, parameter names and layouts, so pretrained weights load
// unchanged:
//   "kernel"  [kd, kh, kw, in, out]   (axis 2 is x; flat cell z*kh*kw + y*kw + x)
//   "bias"    [out]                    (when use_bias)
//   "offset"  [3] buffer               (zeros; used only when align_corners is false)
//   "dense.weight" [out, in]           (when use_dense_layer_for_center; PyTorch's Linear)
//
//   ContinuousConv conv(ContinuousConvOptions(32, {4, 4, 4})
//                           .coordinate_mapping("ball_to_cube_volume_preserving")
//                           .normalize(false).window_function("poly6")
//                           .radius_search_ignore_query_points(true));
//   Tensor y = conv(features, positions, positions, Tensor::scalar(0.225f));  // [M, 32]
//
// A call searches the input points within extent/2 of every output point (or takes the
// user's neighbor list), weights each neighbor with the window function of its normalized
// distance (see layers/window_function.h), runs the continuous_conv op, adds the center dense
// layer's output, the bias, and applies the activation. Everything is differentiable,
// including positions and extents. Math and options: docs/continuous_conv.md.
#include <memory>

#include "../core/tensor.h"
#include "cconv_layer_base.h"
#include "dense.h"

namespace lagrad {

// Optional arguments of a ContinuousConv call: the neighbor arguments (hash_table over
// inp_positions, user lists with rows = output points, a shared search result) and:
struct ContinuousConvCall : CConvNeighborArgs {
  Tensor inp_importance;  // [N]
};

class ContinuousConv : public CConvLayerBase {
 public:
  explicit ContinuousConv(ContinuousConvOptions options);
  ContinuousConv(Index filters, std::vector<Index> kernel_size)
      : ContinuousConv(ContinuousConvOptions(filters, std::move(kernel_size))) {}

  // inp_features [N, in], inp_positions [N, 3], out_positions [M, 3], extents: scalar/[1],
  // [M] or [M, 3]. Returns [M, filters]. Builds the layer on the first call if needed.
  Tensor forward(const Tensor& inp_features, const Tensor& inp_positions, const Tensor& out_positions,
                 const Tensor& extents, const ContinuousConvCall& call = {});
  Tensor forward(const Tensor& inp_features, const Tensor& inp_positions, const Tensor& out_positions,
                 float extent, const ContinuousConvCall& call = {}) {
    return forward(inp_features, inp_positions, out_positions, Tensor::scalar(extent), call);
  }
  template <class... A>
  Tensor operator()(A&&... a) {
    return forward(std::forward<A>(a)...);
  }

  // Also creates the center dense layer when use_dense_layer_for_center is on.
  void build(Index in_channels) override;

 private:
  std::shared_ptr<Dense> dense_;
};

}  // namespace lagrad
