#include "layers/continuous_conv_transpose.h"

#include <stdexcept>

namespace lagrad {

ContinuousConvTranspose::ContinuousConvTranspose(ContinuousConvOptions options)
    : CConvLayerBase("ContinuousConvTranspose", NeighborRows::InputPoints, std::move(options)) {
  if (options_.use_dense_layer_for_center())
    throw std::invalid_argument("ContinuousConvTranspose: use_dense_layer_for_center is not supported");
  build_if_width_known();
}

Tensor ContinuousConvTranspose::forward(const Tensor& inp_features, const Tensor& inp_positions,
                                        const Tensor& out_positions, const Tensor& extents,
                                        const ContinuousConvTransposeCall& call) {
  prepare_features(inp_features);
  // The op's view: its "out" points are our inputs (rows of the list, where the features
  // live), its "inp" points are our outputs (where the result lives).
  CConvInputs in;
  in.filters = kernel_;
  in.out_positions = inp_positions;
  in.extents = extents;
  in.offset = offset_;
  in.inp_positions = out_positions;
  in.inp_features = inp_features;
  in.inp_importance = call.out_importance;
  resolve_neighbors(call, out_positions, inp_positions, extents, in);
  return finish(continuous_conv_transpose(in, op_options_));
}

}  // namespace lagrad
