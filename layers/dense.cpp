#include "layers/dense.h"

#include <cmath>
#include <stdexcept>

#include "core/ops.h"

namespace lagrad {

namespace {

void check_regularizer(const Regularizer& r, const char* which) {
  auto ok = [](float v) { return std::isfinite(v) && v >= 0.0f; };
  if (!ok(r.l1) || !ok(r.l2))
    throw std::invalid_argument(std::string("Dense: ") + which + " must have finite l1, l2 >= 0, got l1 = " +
                                std::to_string(r.l1) + ", l2 = " + std::to_string(r.l2));
}

}  // namespace

Dense::Dense(DenseOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  if (o.units() < 1) throw std::invalid_argument("Dense: units must be >= 1, got " + std::to_string(o.units()));
  if (o.in_features() < 0)
    throw std::invalid_argument("Dense: in_features must be >= 0 (0: inferred), got " + std::to_string(o.in_features()));
  if (!is_known_activation(o.activation())) {
    try {
      activation(Tensor::scalar(0.0f), o.activation());  // throws the message listing the known names
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string("Dense: ") + e.what());
    }
  }
  validate_initializer(o.kernel_initializer());
  validate_initializer(o.bias_initializer());
  check_regularizer(o.kernel_regularizer(), "kernel_regularizer");
  check_regularizer(o.bias_regularizer(), "bias_regularizer");
  if (o.in_features() > 0) build(o.in_features());
}

void Dense::build(Index in_features) {
  if (in_features < 1) throw std::invalid_argument("Dense: in_features must be >= 1, got " + std::to_string(in_features));
  if (built()) {
    if (weight_.dim(1) != in_features)
      throw std::invalid_argument("Dense: built for in_features = " + std::to_string(weight_.dim(1)) +
                                  ", asked to build for " + std::to_string(in_features));
    return;
  }
  const Index out = options_.units();
  Tensor w({out, in_features});
  initialize(w, options_.kernel_initializer(), in_features, out);
  weight_ = register_parameter("weight", w, options_.kernel_regularizer());
  if (options_.use_bias()) {
    Tensor b({out});
    initialize(b, options_.bias_initializer(), in_features, out);
    bias_ = register_parameter("bias", b, options_.bias_regularizer());
  }
}

Tensor Dense::forward(const Tensor& x) {
  if (!x.defined()) throw std::invalid_argument("Dense: x is undefined");
  if (x.rank() != 2)
    throw std::invalid_argument("Dense: x expected [N, in_features" +
                                (built() ? "=" + std::to_string(weight_.dim(1)) : std::string()) + "], got " +
                                shape_str(x.shape()));
  if (!built()) build(x.dim(1));
  if (x.dim(1) != weight_.dim(1))
    throw std::invalid_argument("Dense: x expected [N, in_features=" + std::to_string(weight_.dim(1)) + "], got " +
                                shape_str(x.shape()));
  return activation(linear(x, weight_, bias_), options_.activation());
}

const Tensor& Dense::weight() const {
  if (!built()) throw std::logic_error("Dense: weight read before the layer was built (no forward or build yet)");
  return weight_;
}

const Tensor& Dense::bias() const {
  if (!built()) throw std::logic_error("Dense: bias read before the layer was built (no forward or build yet)");
  return bias_;
}

}  // namespace lagrad
