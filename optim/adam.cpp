#include "optim/adam.h"

#include <algorithm>
#include <cmath>

#include "core/parallel.h"

namespace lagrad {

namespace {
// Elements per task of the update loops; chunks are independent, so any split gives the same bits.
constexpr Index kUpdateGrain = 1 << 14;
}  // namespace

Adam::Adam(NamedTensors params, AdamOptions options) : Adam("Adam", std::move(params), options, false) {}

AdamW::AdamW(NamedTensors params, AdamOptions options) : Adam("AdamW", std::move(params), options, true) {}

Adam::Adam(std::string kind, NamedTensors params, AdamOptions options, bool decoupled_weight_decay)
    : Optimizer(std::move(kind), std::move(params), options.lr()), options_(options),
      decoupled_(decoupled_weight_decay) {
  const auto& o = options_;
  require(o.beta1() >= 0.0f && o.beta1() < 1.0f, "beta1", "in [0, 1)", o.beta1());
  require(o.beta2() >= 0.0f && o.beta2() < 1.0f, "beta2", "in [0, 1)", o.beta2());
  require(std::isfinite(o.eps()) && o.eps() >= 0.0f, "eps", ">= 0", o.eps());
  require(std::isfinite(o.weight_decay()) && o.weight_decay() >= 0.0f, "weight_decay", ">= 0", o.weight_decay());
  slots_.resize(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    slots_[i].exp_avg = add_state(i, "exp_avg");
    slots_[i].exp_avg_sq = add_state(i, "exp_avg_sq");
    if (o.amsgrad()) slots_[i].max_exp_avg_sq = add_state(i, "max_exp_avg_sq");
  }
}

void Adam::step() {
  const double t = static_cast<double>(step_ + 1);
  const float b1 = options_.beta1();
  const float b2 = options_.beta2();
  const float eps = options_.eps();
  const float wd = options_.weight_decay();
  // Scalars in double, like PyTorch's Python-side bias corrections.
  const float step_size = static_cast<float>(lr_ / (1.0 - std::pow(static_cast<double>(b1), t)));
  const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(b2), t)));
  const float decay = decoupled_ ? static_cast<float>(1.0 - static_cast<double>(lr_) * wd) : 1.0f;
  const float l2 = decoupled_ ? 0.0f : wd;
  for (size_t k = 0; k < params_.size(); ++k) {
    const Tensor& param = params_[k].second;
    if (!param.has_grad()) continue;
    float* p = param.data();
    const float* g = param.grad().data();
    float* m = slots_[k].exp_avg.data();
    float* v = slots_[k].exp_avg_sq.data();
    float* vmax = slots_[k].max_exp_avg_sq.defined() ? slots_[k].max_exp_avg_sq.data() : nullptr;
    parallel_for(param.numel(), kUpdateGrain, [&](Index begin, Index end) {
      for (Index i = begin; i < end; ++i) {
        const float gi = l2 != 0.0f ? g[i] + l2 * p[i] : g[i];
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        float vi = v[i];
        if (vmax) vi = vmax[i] = std::max(vmax[i], vi);
        const float denom = std::sqrt(vi) / bc2_sqrt + eps;
        p[i] = p[i] * decay - step_size * m[i] / denom;
      }
    });
  }
  ++step_;
}

}  // namespace lagrad
