#include "layers/continuous_conv_transpose.h"

#include <stdexcept>

#include "core/ops.h"
#include "layers/continuous_conv_op.h"

namespace lagrad {

ContinuousConvTranspose::ContinuousConvTranspose(ContinuousConvOptions options) : options_(std::move(options)) {
  detail::validate_cconv_options("ContinuousConvTranspose", options_, op_options_, metric_, window_);
  if (options_.use_dense_layer_for_center())
    throw std::invalid_argument("ContinuousConvTranspose: use_dense_layer_for_center is not supported");
  const auto& o = options_.offset();
  offset_ = register_buffer("offset", Tensor::from_vector({3}, {o[0], o[1], o[2]}));
  if (options_.in_channels() > 0) build(options_.in_channels());
}

void ContinuousConvTranspose::build(Index in_channels) {
  if (in_channels < 1)
    throw std::invalid_argument("ContinuousConvTranspose: in_channels must be >= 1, got " + std::to_string(in_channels));
  if (built()) {
    if (kernel_.dim(3) != in_channels)
      throw std::invalid_argument("ContinuousConvTranspose: built for in_channels = " + std::to_string(kernel_.dim(3)) +
                                  ", asked to build for " + std::to_string(in_channels));
    return;
  }
  const auto& ks = options_.kernel_size();
  const Index out = options_.filters();
  const Index cells = ks[0] * ks[1] * ks[2];
  Tensor k({ks[0], ks[1], ks[2], in_channels, out});
  initialize(k, options_.kernel_initializer(), cells * in_channels, cells * out);
  kernel_ = register_parameter("kernel", k, options_.kernel_regularizer());
  if (options_.use_bias()) {
    Tensor b({out});
    initialize(b, options_.bias_initializer(), cells * in_channels, cells * out);
    bias_ = register_parameter("bias", b, options_.bias_regularizer());
  }
}

const Tensor& ContinuousConvTranspose::kernel() const {
  if (!built())
    throw std::logic_error("ContinuousConvTranspose: kernel read before the layer was built (no forward or build yet)");
  return kernel_;
}

Tensor ContinuousConvTranspose::forward(const Tensor& inp_features, const Tensor& inp_positions,
                                        const Tensor& out_positions, const Tensor& extents,
                                        const ContinuousConvTransposeCall& call) {
  const char* L = "ContinuousConvTranspose";
  if (!inp_features.defined() || inp_features.rank() != 2)
    throw std::invalid_argument(std::string(L) + ": inp_features expected [num_inp, in_channels], got " +
                                (inp_features.defined() ? shape_str(inp_features.shape()) : std::string("undefined")));
  if (!built()) build(inp_features.dim(1));
  if (inp_features.dim(1) != kernel_.dim(3))
    throw std::invalid_argument(std::string(L) + ": inp_features expected [num_inp, in_channels=" +
                                std::to_string(kernel_.dim(3)) + "], got " + shape_str(inp_features.shape()));

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

  const bool user = call.user_neighbors_index || call.user_neighbors_row_splits;
  if (user) {
    if (!call.user_neighbors_index || !call.user_neighbors_row_splits)
      throw std::invalid_argument(std::string(L) + ": user_neighbors_index and user_neighbors_row_splits must be given together");
    in.neighbors_index = call.user_neighbors_index;
    in.neighbors_row_splits = call.user_neighbors_row_splits;
    in.neighbors_importance = call.user_neighbors_importance;
  } else {
    std::shared_ptr<const NeighborList> list = call.neighbors;
    if (!list) {
      try {
        list = cconv_radius_search(out_positions, inp_positions, extents, metric_,
                                   options_.radius_search_ignore_query_points(), call.hash_table);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string(L) + ": " + e.what());
      }
    }
    in.neighbors_index = &list->neighbors_index;
    in.neighbors_row_splits = &list->row_splits;
    in.neighbors_owner = list;
    if (window_) {
      const Tensor r = normalized_neighbor_distances(out_positions, inp_positions, extents, list->neighbors_index,
                                                     list->row_splits, metric_, list);
      in.neighbors_importance = window_(r);
      if (!in.neighbors_importance.defined() || in.neighbors_importance.shape() != r.shape())
        throw std::invalid_argument(std::string(L) + ": window_function must return a tensor of shape " +
                                    shape_str(r.shape()));
    }
  }
  Tensor out = continuous_conv_transpose(in, op_options_);
  if (bias_.defined()) out = add(out, bias_);
  return detail::apply_cconv_activation(options_, out);
}

}  // namespace lagrad
