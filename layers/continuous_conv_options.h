#pragma once
// ContinuousConvOptions: the constructor options of ContinuousConv and ContinuousConvTranspose,
// with Open3D-ML's names and defaults (docs/continuous_conv.md lists them).
#include <array>
#include <functional>
#include <string>
#include <vector>

#include "../core/tensor.h"
#include "initializer.h"
#include "regularizer.h"
#include "window_function.h"

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

}  // namespace lagrad
