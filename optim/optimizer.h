#pragma once
// Optimizer base: holds named parameters and per-parameter state keyed by name (never by
// address or position), so checkpoints survive model refactors that keep names.
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace lagrad {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Optimizer {
 public:
  Optimizer(NamedTensors params, float lr);
  virtual ~Optimizer() = default;

  // One update from the parameters' current gradients (parameters without a gradient are
  // skipped), then step_count() += 1.
  virtual void step() = 0;
  void zero_grad();

  float lr() const { return lr_; }
  void set_lr(float lr);  // validated: finite, >= 0
  Index step_count() const { return step_; }

  const NamedTensors& params() const { return params_; }

  // Checkpoint state: named tensors "<param name>.<slot>" (e.g. "conv1.kernel.exp_avg") plus
  // the step counter. load_state validates every name and shape first and changes nothing on
  // error (one std::invalid_argument listing every missing, unexpected or mismatched entry).
  virtual NamedTensors state_tensors() const = 0;
  virtual void load_state(const NamedTensors& state, Index step_count) = 0;

 protected:
  NamedTensors params_;
  float lr_;
  Index step_ = 0;
};

}  // namespace lagrad
