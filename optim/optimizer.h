#pragma once
// Optimizer base: holds named parameters and per-parameter state keyed by name (never by
// address or position), so checkpoints survive model refactors that keep names.
#include <string>
#include <utility>
#include <vector>

#include "../core/tensor.h"

namespace lagrad {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Optimizer {
 public:
  // kind: "Adam", "SGD"... (error messages, checkpoint configs). params: e.g.
  // module.named_parameters() or module.parameters(); at least one, names non-empty and
  // unique, tensors defined; lr finite and >= 0. Throws std::invalid_argument otherwise.
  Optimizer(std::string kind, NamedTensors params, float lr);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  const std::string& name() const { return kind_; }

  // One update from the parameters' current gradients (parameters without a gradient are
  // skipped), then step_count() += 1.
  virtual void step() = 0;
  void zero_grad();

  float lr() const { return lr_; }
  void set_lr(float lr);  // validated: finite, >= 0
  Index step_count() const { return step_; }

  const NamedTensors& params() const { return params_; }

  // Checkpoint state: named tensors "<param name>.<slot>" (e.g. "conv1.kernel.exp_avg") plus
  // the step counter. The tensors are handles to the live state (clone() them to snapshot).
  // load_state validates every name and shape first and changes nothing on error (one
  // std::invalid_argument listing every missing, unexpected or mismatched entry).
  virtual NamedTensors state_tensors() const;
  virtual void load_state(const NamedTensors& state, Index step_count);

 protected:
  // Creates the zero-filled slot "<params_[i].first>.<slot>" shaped like the parameter and
  // returns it. Subclasses call this from their constructors, so the state exists (and can be
  // loaded into) before the first step.
  Tensor add_state(size_t param_index, const std::string& slot);
  // Throws std::invalid_argument "<name()>: <what> must be in <range>, got <value>".
  void require(bool ok, const std::string& what, const std::string& range, double value) const;

  std::string kind_;
  NamedTensors params_;
  float lr_;
  Index step_ = 0;

 private:
  NamedTensors state_;
};

}  // namespace lagrad
