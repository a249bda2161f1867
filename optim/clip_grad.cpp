#include "optim/clip_grad.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "core/parallel.h"

namespace lagrad {

namespace {
// Fixed reduction chunk: boundaries depend only on the tensor size, never on the thread count.
constexpr Index kNormChunk = 1 << 14;

double sum_of_squares(const Tensor& g) {
  const float* x = g.data();
  return deterministic_reduce(
      g.numel(), kNormChunk, 0.0,
      [x](Index, Index b, Index e) {
        double s = 0.0;
        for (Index i = b; i < e; ++i) s += static_cast<double>(x[i]) * x[i];
        return s;
      },
      [](double a, double b) { return a + b; });
}
}  // namespace

float grad_norm(const std::vector<Tensor>& params) {
  double total = 0.0;
  for (const auto& p : params)
    if (p.defined() && p.has_grad()) total += sum_of_squares(p.grad());
  return static_cast<float>(std::sqrt(total));
}

float clip_grad_norm(const std::vector<Tensor>& params, float max_norm) {
  if (!(max_norm > 0.0f) || !std::isfinite(max_norm))
    throw std::invalid_argument("clip_grad_norm: max_norm must be finite and > 0, got " + std::to_string(max_norm));
  const float norm = grad_norm(params);
  if (!std::isfinite(norm) || norm <= max_norm) return norm;
  const float scale = static_cast<float>(static_cast<double>(max_norm) / (static_cast<double>(norm) + 1e-6));
  for (const auto& p : params) {
    if (!p.defined() || !p.has_grad()) continue;
    float* g = p.grad().data();
    parallel_for(p.grad().numel(), kNormChunk, [&](Index b, Index e) {
      for (Index i = b; i < e; ++i) g[i] *= scale;
    });
  }
  return norm;
}

float clip_grad_norm(const NamedTensors& params, float max_norm) {
  std::vector<Tensor> ts;
  ts.reserve(params.size());
  for (const auto& kv : params) ts.push_back(kv.second);
  return clip_grad_norm(ts, max_norm);
}

}  // namespace lagrad
