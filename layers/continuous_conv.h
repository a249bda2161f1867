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
#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/neighbor_search.h"
#include "core/tensor.h"
#include "layers/cconv_options.h"
#include "layers/dense.h"
#include "layers/initializer.h"
#include "layers/module.h"
#include "layers/regularizer.h"
#include "layers/window_function.h"

namespace lagrad {

using ActivationFunction = std::function<Tensor(const Tensor&)>;

// Options with Open3D's defaults; chained setters. Validated by the layer's constructor.
class ContinuousConvOptions {
 public:
  ContinuousConvOptions(Index filters = 0, std::vector<Index> kernel_size = {3, 3, 3})
      : filters_(filters), kernel_size_(std::move(kernel_size)) {}

  Index filters() const { return filters_; }
  const std::vector<Index>& kernel_size() const { return kernel_size_; }  // [kd, kh, kw]
  const std::string& activation() const { return activation_; }
  const ActivationFunction& activation_fn() const { return activation_fn_; }
  bool use_bias() const { return use_bias_; }
  const Initializer& kernel_initializer() const { return kernel_initializer_; }
  const Initializer& bias_initializer() const { return bias_initializer_; }
  const Regularizer& kernel_regularizer() const { return kernel_regularizer_; }
  const Regularizer& bias_regularizer() const { return bias_regularizer_; }
  bool align_corners() const { return align_corners_; }
  const std::string& coordinate_mapping() const { return coordinate_mapping_; }
  const std::string& interpolation() const { return interpolation_; }
  bool normalize() const { return normalize_; }
  bool radius_search_ignore_query_points() const { return ignore_query_points_; }
  const std::string& radius_search_metric() const { return metric_; }
  const std::array<float, 3>& offset() const { return offset_; }
  const std::string& window_function() const { return window_function_; }
  const WindowFunction& window_fn() const { return window_fn_; }
  bool use_dense_layer_for_center() const { return use_dense_layer_for_center_; }
  const Initializer& dense_kernel_initializer() const { return dense_kernel_initializer_; }
  const Regularizer& dense_kernel_regularizer() const { return dense_kernel_regularizer_; }
  Index in_channels() const { return in_channels_; }

  ContinuousConvOptions& filters(Index v) { filters_ = v; return *this; }
  ContinuousConvOptions& kernel_size(std::vector<Index> v) { kernel_size_ = std::move(v); return *this; }
  // By name (core/ops.h: "", "linear", "none", "relu", ...); a callable takes precedence.
  ContinuousConvOptions& activation(std::string v) { activation_ = std::move(v); return *this; }
  ContinuousConvOptions& activation_fn(ActivationFunction f) { activation_fn_ = std::move(f); return *this; }
  ContinuousConvOptions& use_bias(bool v) { use_bias_ = v; return *this; }
  ContinuousConvOptions& kernel_initializer(Initializer v) { kernel_initializer_ = std::move(v); return *this; }
  ContinuousConvOptions& bias_initializer(Initializer v) { bias_initializer_ = std::move(v); return *this; }
  ContinuousConvOptions& kernel_regularizer(Regularizer v) { kernel_regularizer_ = v; return *this; }
  ContinuousConvOptions& bias_regularizer(Regularizer v) { bias_regularizer_ = v; return *this; }
  ContinuousConvOptions& align_corners(bool v) { align_corners_ = v; return *this; }
  ContinuousConvOptions& coordinate_mapping(std::string v) { coordinate_mapping_ = std::move(v); return *this; }
  ContinuousConvOptions& interpolation(std::string v) { interpolation_ = std::move(v); return *this; }
  ContinuousConvOptions& normalize(bool v) { normalize_ = v; return *this; }
  ContinuousConvOptions& radius_search_ignore_query_points(bool v) { ignore_query_points_ = v; return *this; }
  ContinuousConvOptions& radius_search_metric(std::string v) { metric_ = std::move(v); return *this; }
  ContinuousConvOptions& offset(std::array<float, 3> v) { offset_ = v; return *this; }
  // A built-in window by name ("" = none; see layers/window_function.h); a callable (on the
  // [E] normalized distances, returning [E]) takes precedence.
  ContinuousConvOptions& window_function(std::string v) { window_function_ = std::move(v); return *this; }
  ContinuousConvOptions& window_fn(WindowFunction f) { window_fn_ = std::move(f); return *this; }
  ContinuousConvOptions& use_dense_layer_for_center(bool v) { use_dense_layer_for_center_ = v; return *this; }
  ContinuousConvOptions& dense_kernel_initializer(Initializer v) { dense_kernel_initializer_ = std::move(v); return *this; }
  ContinuousConvOptions& dense_kernel_regularizer(Regularizer v) { dense_kernel_regularizer_ = v; return *this; }
  ContinuousConvOptions& in_channels(Index v) { in_channels_ = v; return *this; }  // 0: inferred

 private:
  Index filters_;
  std::vector<Index> kernel_size_;
  std::string activation_;
  ActivationFunction activation_fn_;
  bool use_bias_ = true;
  Initializer kernel_initializer_ = "uniform";
  Initializer bias_initializer_ = "zeros";
  Regularizer kernel_regularizer_;
  Regularizer bias_regularizer_;
  bool align_corners_ = true;
  std::string coordinate_mapping_ = "ball_to_cube_radial";
  std::string interpolation_ = "linear";
  bool normalize_ = true;
  bool ignore_query_points_ = false;
  std::string metric_ = "L2";
  std::array<float, 3> offset_{0.0f, 0.0f, 0.0f};
  std::string window_function_;
  WindowFunction window_fn_;
  bool use_dense_layer_for_center_ = false;
  Initializer dense_kernel_initializer_ = "glorot_uniform";
  Regularizer dense_kernel_regularizer_;
  Index in_channels_ = 0;
};

// Radius search as the layers do it: for each query, the points within extent/2 (L1, L2 or
// Linf). extents: a scalar / [1] (fixed radius; `hash_table`, built over the same points with a
// cell size >= the radius, is reused when given), [num_queries] or [num_queries, 1] (radius per
// query), [num_queries, 3] or [1, 3] (per axis: the points inside the axis-aligned ellipsoid,
// i.e. normalized distance <= 1).
std::shared_ptr<const NeighborList> cconv_radius_search(const Tensor& points, const Tensor& queries,
                                                        const Tensor& extents, Metric metric,
                                                        bool ignore_query_points,
                                                        const SpatialHashIndex* hash_table = nullptr);

// Optional arguments of a ContinuousConv call.
struct ContinuousConvCall {
  Tensor inp_importance;                          // [N]
  const SpatialHashIndex* hash_table = nullptr;   // over inp_positions; scalar extents only
  // Override the search (Open3D's user_neighbors_*): rows = output points. No window is applied;
  // user_neighbors_importance (optional, [E]) is used as the neighbor importance.
  const IndexVector* user_neighbors_index = nullptr;
  const IndexVector* user_neighbors_row_splits = nullptr;
  Tensor user_neighbors_importance;
  // lagrad extension: a search result for these very positions and extents (from
  // cconv_radius_search with the layer's metric and ignore_query_points), shared between layers
  // instead of searching again. The window is applied as after an own search.
  std::shared_ptr<const NeighborList> neighbors;
};

class ContinuousConv : public Module {
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

  // Creates the kernel (and dense) parameters for in_channels inputs; no-op when already built
  // with that width, std::invalid_argument otherwise.
  void build(Index in_channels);
  bool built() const { return kernel_.defined(); }
  const Tensor& kernel() const;  // std::logic_error before the layer is built
  const Tensor& bias() const { return bias_; }
  const Tensor& offset() const { return offset_; }
  const ContinuousConvOptions& options() const { return options_; }
  const CConvOpOptions& op_options() const { return op_options_; }
  Metric metric() const { return metric_; }

 private:
  ContinuousConvOptions options_;
  CConvOpOptions op_options_;
  Metric metric_ = Metric::L2;
  WindowFunction window_;
  Tensor kernel_, bias_, offset_;
  std::shared_ptr<Dense> dense_;
};

namespace detail {
// Shared by ContinuousConv and ContinuousConvTranspose (layers/continuous_conv.cpp).
void validate_cconv_options(const char* layer, const ContinuousConvOptions& o, CConvOpOptions& op,
                            Metric& metric, WindowFunction& window);
Tensor apply_cconv_activation(const ContinuousConvOptions& o, const Tensor& x);
}  // namespace detail

}  // namespace lagrad
