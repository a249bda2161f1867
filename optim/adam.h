#pragma once
// Adam and AdamW with PyTorch's maths (torch.optim.Adam / AdamW), t = step_count() + 1:
//
//   g  = grad + weight_decay * p             (Adam: L2 decay enters the gradient)
//   p *= 1 - lr * weight_decay               (AdamW instead: decoupled decay, g = grad)
//   m  = beta1 * m + (1 - beta1) * g
//   v  = beta2 * v + (1 - beta2) * g^2
//   v̂  = amsgrad ? (vmax = max(vmax, v)) : v
//   p -= lr / (1 - beta1^t) * m / (sqrt(v̂) / sqrt(1 - beta2^t) + eps)
//
// eps is added after the bias correction, as PyTorch does (DLF trains with eps = 1e-6).
// Unlike PyTorch, t is the optimizer's step count, not a per-parameter one: the two differ
// only for a parameter that had no gradient in some earlier step.
#include <vector>

#include "optimizer.h"

namespace lagrad {

// Defaults (PyTorch's) and chained setters: AdamOptions().lr(1e-3f).eps(1e-6f).
class AdamOptions {
 public:
  float lr() const { return lr_; }
  float beta1() const { return beta1_; }
  float beta2() const { return beta2_; }
  float eps() const { return eps_; }
  float weight_decay() const { return weight_decay_; }
  bool amsgrad() const { return amsgrad_; }
  AdamOptions& lr(float v) { lr_ = v; return *this; }
  AdamOptions& beta1(float v) { beta1_ = v; return *this; }
  AdamOptions& beta2(float v) { beta2_ = v; return *this; }
  AdamOptions& betas(float b1, float b2) { beta1_ = b1; beta2_ = b2; return *this; }
  AdamOptions& eps(float v) { eps_ = v; return *this; }
  AdamOptions& weight_decay(float v) { weight_decay_ = v; return *this; }
  AdamOptions& amsgrad(bool v) { amsgrad_ = v; return *this; }

 private:
  float lr_ = 1e-3f;
  float beta1_ = 0.9f;
  float beta2_ = 0.999f;
  float eps_ = 1e-8f;
  float weight_decay_ = 0.0f;
  bool amsgrad_ = false;
};

class Adam : public Optimizer {
 public:
  // Throws std::invalid_argument ("Adam: beta1 must be in [0, 1), got 1.2") for a negative lr,
  // eps or weight_decay, or a beta outside [0, 1).
  explicit Adam(NamedTensors params, AdamOptions options = {});

  void step() override;
  // State per parameter: "<param>.exp_avg", "<param>.exp_avg_sq", and with amsgrad
  // "<param>.max_exp_avg_sq".
  const AdamOptions& options() const { return options_; }  // lr(): the initial lr; see lr()

 protected:
  Adam(std::string kind, NamedTensors params, AdamOptions options, bool decoupled_weight_decay);

 private:
  struct Slots {
    Tensor exp_avg, exp_avg_sq, max_exp_avg_sq;
  };
  AdamOptions options_;
  bool decoupled_;
  std::vector<Slots> slots_;
};

// AdamW: Adam with decoupled weight decay. Its default options are PyTorch's:
// AdamOptions().weight_decay(0.01f); options passed explicitly are taken as given.
class AdamW : public Adam {
 public:
  static AdamOptions default_options() { return AdamOptions().weight_decay(1e-2f); }
  explicit AdamW(NamedTensors params, AdamOptions options = default_options());
};

}  // namespace lagrad
