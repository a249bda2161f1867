#pragma once
// Dense: a fully connected layer, y = activation(x @ weight^T + bias).
//
// Parameters use PyTorch's names and layout so weights port one to one: "weight" [out, in]
// and "bias" [out]. The forward pass is the fused `linear` op (one GEMM per pass).
//
// in_features may be left 0: the parameters are then created on the first forward call from
// x.dim(1) (or by an explicit build()). An optimizer only sees parameters that exist, so build
// the layer (or run one forward) before handing named_parameters() to it.
#include <string>

#include "../core/tensor.h"
#include "initializer.h"
#include "module.h"
#include "regularizer.h"

namespace lagrad {

// Defaults and chained setters: DenseOptions(64).activation("relu").use_bias(false).
// Defaults follow Keras/DLF: no activation, glorot_uniform weight, zero bias, no penalty.
class DenseOptions {
 public:
  explicit DenseOptions(Index units = 0) : units_(units) {}
  Index units() const { return units_; }
  Index in_features() const { return in_features_; }
  const std::string& activation() const { return activation_; }
  bool use_bias() const { return use_bias_; }
  const Initializer& kernel_initializer() const { return kernel_initializer_; }
  const Initializer& bias_initializer() const { return bias_initializer_; }
  const Regularizer& kernel_regularizer() const { return kernel_regularizer_; }
  const Regularizer& bias_regularizer() const { return bias_regularizer_; }

  DenseOptions& units(Index v) { units_ = v; return *this; }
  DenseOptions& in_features(Index v) { in_features_ = v; return *this; }  // 0: infer
  DenseOptions& activation(std::string v) { activation_ = std::move(v); return *this; }  // core/ops.h names
  DenseOptions& use_bias(bool v) { use_bias_ = v; return *this; }
  DenseOptions& kernel_initializer(Initializer v) { kernel_initializer_ = std::move(v); return *this; }
  DenseOptions& bias_initializer(Initializer v) { bias_initializer_ = std::move(v); return *this; }
  DenseOptions& kernel_regularizer(Regularizer v) { kernel_regularizer_ = v; return *this; }
  DenseOptions& bias_regularizer(Regularizer v) { bias_regularizer_ = v; return *this; }

 private:
  Index units_;
  Index in_features_ = 0;
  std::string activation_ = "linear";
  bool use_bias_ = true;
  Initializer kernel_initializer_ = "glorot_uniform";
  Initializer bias_initializer_ = "zeros";
  Regularizer kernel_regularizer_;
  Regularizer bias_regularizer_;
};

class Dense : public Module {
 public:
  // Validates the options (std::invalid_argument naming the option and the value) and, when
  // in_features is given, creates and initializes the parameters from global_rng().
  explicit Dense(DenseOptions options);
  explicit Dense(Index units) : Dense(DenseOptions(units)) {}

  // x: [N, in_features] -> [N, units]. Builds the layer on the first call if needed.
  Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

  // Creates and initializes the parameters for in_features inputs; a no-op when already built
  // with that width, std::invalid_argument when built with another.
  void build(Index in_features);
  bool built() const { return weight_.defined(); }

  Index units() const { return options_.units(); }
  Index in_features() const { return built() ? weight_.dim(1) : options_.in_features(); }
  const Tensor& weight() const;  // std::logic_error before the layer is built
  const Tensor& bias() const;    // undefined when use_bias is false
  const DenseOptions& options() const { return options_; }

 protected:
  bool parameters_pending() const override { return !built(); }

 private:
  DenseOptions options_;
  Tensor weight_;
  Tensor bias_;
};

}  // namespace lagrad
