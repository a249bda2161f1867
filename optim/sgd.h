#pragma once
// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
// with PyTorch's update rule (torch.optim.SGD):
//
//   d = grad + weight_decay * p
//   b = d                                  (first step of this parameter)
//   b = momentum * b + (1 - dampening) * d (later steps)
//   d = nesterov ? d + momentum * b : b    (only when momentum != 0)
//   p -= lr * d
#include <vector>

#include "optimizer.h"

namespace lagrad {

// Defaults and chained setters: SGDOptions().lr(0.1f).momentum(0.9f).nesterov(true).
class SGDOptions {
 public:
  float lr() const { return lr_; }
  float momentum() const { return momentum_; }
  float dampening() const { return dampening_; }
  float weight_decay() const { return weight_decay_; }
  bool nesterov() const { return nesterov_; }
  SGDOptions& lr(float v) { lr_ = v; return *this; }
  SGDOptions& momentum(float v) { momentum_ = v; return *this; }
  SGDOptions& dampening(float v) { dampening_ = v; return *this; }
  SGDOptions& weight_decay(float v) { weight_decay_ = v; return *this; }
  SGDOptions& nesterov(bool v) { nesterov_ = v; return *this; }

 private:
  float lr_ = 0.01f;
  float momentum_ = 0.0f;
  float dampening_ = 0.0f;
  float weight_decay_ = 0.0f;
  bool nesterov_ = false;
};

class SGD : public Optimizer {
 public:
  // Throws std::invalid_argument for a negative lr/momentum/weight_decay, a dampening outside
  // [0, 1], or nesterov without momentum or with dampening.
  explicit SGD(NamedTensors params, SGDOptions options = {});

  void step() override;
  // State: "<param>.momentum_buffer" per parameter when momentum != 0 (none otherwise).
  // After a load with step_count > 0 the buffers count as started.
  void load_state(const NamedTensors& state, Index step_count) override;

  const SGDOptions& options() const { return options_; }  // lr(): the initial lr; see lr()

 private:
  SGDOptions options_;
  std::vector<Tensor> buffers_;  // per parameter; undefined when momentum == 0
  std::vector<bool> started_;    // PyTorch seeds the buffer with the first gradient
};

}  // namespace lagrad
