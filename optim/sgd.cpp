#include "optim/sgd.h"

#include <cmath>

#include "core/parallel.h"

namespace lagrad {

namespace {
// Elements per task of the update loops; chunks are independent, so any split gives the same bits.
constexpr Index kUpdateGrain = 1 << 14;
}  // namespace

SGD::SGD(NamedTensors params, SGDOptions options)
    : Optimizer("SGD", std::move(params), options.lr()), options_(options) {
  const auto& o = options_;
  require(std::isfinite(o.momentum()) && o.momentum() >= 0.0f, "momentum", ">= 0", o.momentum());
  require(o.dampening() >= 0.0f && o.dampening() <= 1.0f, "dampening", "in [0, 1]", o.dampening());
  require(std::isfinite(o.weight_decay()) && o.weight_decay() >= 0.0f, "weight_decay", ">= 0", o.weight_decay());
  if (o.nesterov()) {
    require(o.momentum() > 0.0f, "momentum (with nesterov)", "> 0", o.momentum());
    require(o.dampening() == 0.0f, "dampening (with nesterov)", "0", o.dampening());
  }
  buffers_.resize(params_.size());
  started_.assign(params_.size(), false);
  if (o.momentum() != 0.0f)
    for (size_t i = 0; i < params_.size(); ++i) buffers_[i] = add_state(i, "momentum_buffer");
}

void SGD::step() {
  const float lr = lr_;
  const float mom = options_.momentum();
  const float damp = options_.dampening();
  const float wd = options_.weight_decay();
  const bool nesterov = options_.nesterov();
  for (size_t k = 0; k < params_.size(); ++k) {
    const Tensor& param = params_[k].second;
    if (!param.has_grad()) continue;
    float* p = param.data();
    const float* g = param.grad().data();
    float* b = buffers_[k].defined() ? buffers_[k].data() : nullptr;
    const bool first = !started_[k];
    parallel_for(param.numel(), kUpdateGrain, [&](Index begin, Index end) {
      for (Index i = begin; i < end; ++i) {
        float d = g[i];
        if (wd != 0.0f) d += wd * p[i];
        if (b) {
          b[i] = first ? d : mom * b[i] + (1.0f - damp) * d;
          d = nesterov ? d + mom * b[i] : b[i];
        }
        p[i] -= lr * d;
      }
    });
    started_[k] = true;
  }
  ++step_;
}

void SGD::load_state(const NamedTensors& state, Index step_count) {
  Optimizer::load_state(state, step_count);
  started_.assign(params_.size(), step_count > 0);
}

}  // namespace lagrad
