#include "layers/continuous_conv.h"

#include <stdexcept>
#include <string>

#include "core/ops.h"

namespace lagrad {

ContinuousConv::ContinuousConv(ContinuousConvOptions options) : CConvLayerBase("ContinuousConv", NeighborRows::OutputPoints, std::move(options)) {
  build_if_width_known();
}

void ContinuousConv::build(Index in_channels) {
  const bool was_built = built();
  CConvLayerBase::build(in_channels);
  if (was_built || !options_.use_dense_layer_for_center()) return;
  dense_ = register_module("dense", std::make_shared<Dense>(DenseOptions(options_.filters())
                                                                .in_features(in_channels)
                                                                .use_bias(false)
                                                                .kernel_initializer(options_.dense_kernel_initializer())
                                                                .kernel_regularizer(options_.dense_kernel_regularizer())));
}

Tensor ContinuousConv::forward(const Tensor& inp_features, const Tensor& inp_positions, const Tensor& out_positions,
                               const Tensor& extents, const ContinuousConvCall& call) {
  prepare_features(inp_features);
  // Checked before the convolution, so a failing call records nothing on the tape (other
  // position shape errors are the op's to report).
  if (dense_ && inp_positions.defined() && out_positions.defined() && inp_positions.rank() == 2 &&
      out_positions.rank() == 2 && inp_positions.dim(0) != out_positions.dim(0))
    throw std::invalid_argument("ContinuousConv: use_dense_layer_for_center needs as many input as output points, got " +
                                std::to_string(inp_positions.dim(0)) + " and " + std::to_string(out_positions.dim(0)));
  CConvInputs in;
  in.filters = kernel_;
  in.out_positions = out_positions;
  in.extents = extents;
  in.offset = offset_;
  in.inp_positions = inp_positions;
  in.inp_features = inp_features;
  in.inp_importance = call.inp_importance;
  resolve_neighbors(call, inp_positions, out_positions, extents, in);
  Tensor out = continuous_conv(in, op_options_);
  if (dense_) out = add(out, dense_->forward(inp_features));
  return finish(out);
}

}  // namespace lagrad
