// Activation functions, and their lookup by name.
//
// Derivatives at the kinks follow PyTorch: relu'(0) = 0, leaky_relu'(0) = negative_slope,
// elu'(0) = alpha.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/ops.h"
#include "core/ops/op_util.h"

namespace lagrad {

using detail::unary_op;

namespace {
// Logistic function without overflow for large |x|.
inline float stable_sigmoid(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}
}  // namespace

Tensor relu(const Tensor& x) {
  return unary_op(
      "relu", x, [](float v) { return v > 0.0f ? v : 0.0f; },
      [](float v, float) { return v > 0.0f ? 1.0f : 0.0f; });
}

Tensor leaky_relu(const Tensor& x, float negative_slope) {
  const float s = negative_slope;
  return unary_op(
      "leaky_relu", x, [s](float v) { return v > 0.0f ? v : s * v; },
      [s](float v, float) { return v > 0.0f ? 1.0f : s; });
}

Tensor elu(const Tensor& x, float alpha) {
  const float a = alpha;
  // For x <= 0, y = a (e^x - 1) so dy/dx = a e^x = y + a; it avoids a second exp.
  return unary_op(
      "elu", x, [a](float v) { return v > 0.0f ? v : a * std::expm1(v); },
      [a](float v, float y) { return v > 0.0f ? 1.0f : y + a; });
}

Tensor tanh(const Tensor& x) {
  return unary_op(
      "tanh", x, [](float v) { return std::tanh(v); }, [](float, float y) { return 1.0f - y * y; });
}

Tensor sigmoid(const Tensor& x) {
  return unary_op(
      "sigmoid", x, [](float v) { return stable_sigmoid(v); }, [](float, float y) { return y * (1.0f - y); });
}

// softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|): exact and overflow-free for all x.
Tensor softplus(const Tensor& x) {
  return unary_op(
      "softplus", x, [](float v) { return std::max(v, 0.0f) + std::log1p(std::exp(-std::fabs(v))); },
      [](float v, float) { return stable_sigmoid(v); });
}

namespace {
const char* const kActivationNames = "\"linear\", \"none\", \"\", \"relu\", \"leaky_relu\", \"elu\", \"tanh\", \"sigmoid\", \"softplus\"";
bool is_identity_name(const std::string& name) { return name.empty() || name == "linear" || name == "none"; }
}  // namespace

bool is_known_activation(const std::string& name) {
  return is_identity_name(name) || name == "relu" || name == "leaky_relu" || name == "elu" || name == "tanh" ||
         name == "sigmoid" || name == "softplus";
}

Tensor activation(const Tensor& x, const std::string& name) {
  if (!is_known_activation(name))
    throw std::invalid_argument("activation: unknown name \"" + name + "\" (known: " + kActivationNames + ")");
  detail::require_defined("activation", x, "x");
  if (is_identity_name(name)) return x;  // the identity needs no node: gradients reach x directly
  if (name == "relu") return relu(x);
  if (name == "leaky_relu") return leaky_relu(x);
  if (name == "elu") return elu(x);
  if (name == "tanh") return tanh(x);
  if (name == "sigmoid") return sigmoid(x);
  return softplus(x);
}

}  // namespace lagrad
