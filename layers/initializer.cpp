#include "layers/initializer.h"

#include <cmath>
#include <stdexcept>

namespace lagrad {

namespace {
const char* kKnown =
    "zeros, ones, constant, uniform, normal, glorot_uniform, glorot_normal, xavier_uniform, xavier_normal, "
    "he_uniform, he_normal, kaiming_uniform, kaiming_normal";

enum class Kind { Zeros, Ones, Constant, Uniform, Normal, GlorotU, GlorotN, HeU, HeN, Unknown };

Kind kind_of(const std::string& n) {
  if (n == "zeros") return Kind::Zeros;
  if (n == "ones") return Kind::Ones;
  if (n == "constant") return Kind::Constant;
  if (n == "uniform") return Kind::Uniform;
  if (n == "normal") return Kind::Normal;
  if (n == "glorot_uniform" || n == "xavier_uniform") return Kind::GlorotU;
  if (n == "glorot_normal" || n == "xavier_normal") return Kind::GlorotN;
  if (n == "he_uniform" || n == "kaiming_uniform") return Kind::HeU;
  if (n == "he_normal" || n == "kaiming_normal") return Kind::HeN;
  return Kind::Unknown;
}
}  // namespace

void validate_initializer(const Initializer& init) {
  if (kind_of(init.name) == Kind::Unknown)
    throw std::invalid_argument("initializer: unknown name '" + init.name + "' (known: " + kKnown + ")");
}

void initialize(Tensor& t, const Initializer& init, Index fan_in, Index fan_out, Rng& rng) {
  validate_initializer(init);
  float* p = t.data();
  const Index n = t.numel();
  auto fill_uniform = [&](float lim) {
    for (Index i = 0; i < n; ++i) p[i] = rng.uniform(-lim, lim);
  };
  auto fill_normal = [&](float sd) {
    for (Index i = 0; i < n; ++i) p[i] = rng.normal(0.0f, sd);
  };
  const double fi = static_cast<double>(std::max<Index>(fan_in, 1));
  const double fo = static_cast<double>(std::max<Index>(fan_out, 1));
  switch (kind_of(init.name)) {
    case Kind::Zeros: std::fill(p, p + n, 0.0f); break;
    case Kind::Ones: std::fill(p, p + n, 1.0f); break;
    case Kind::Constant: std::fill(p, p + n, init.value); break;
    case Kind::Uniform: fill_uniform(0.05f); break;
    case Kind::Normal: fill_normal(0.05f); break;
    case Kind::GlorotU: fill_uniform(static_cast<float>(std::sqrt(6.0 / (fi + fo)))); break;
    case Kind::GlorotN: fill_normal(static_cast<float>(std::sqrt(2.0 / (fi + fo)))); break;
    case Kind::HeU: fill_uniform(static_cast<float>(std::sqrt(6.0 / fi))); break;
    case Kind::HeN: fill_normal(static_cast<float>(std::sqrt(2.0 / fi))); break;
    case Kind::Unknown: break;
  }
}

}  // namespace lagrad
