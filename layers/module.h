#pragma once
// Module: owns named parameters, buffers and sub-modules.
//
// Names are hierarchical ("conv1.kernel"); checkpoints, optimizers and importers use them, so
// they follow the upstream (PyTorch state dict) names where a model ports weights.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../core/tensor.h"
#include "regularizer.h"

namespace lagrad {

class Module {
 public:
  virtual ~Module() = default;

  // Parameters require gradients; buffers (e.g. a constant gravity vector) do not but are
  // saved in checkpoints. Names must be non-empty, dot-free and unique within the module.
  const Tensor& register_parameter(const std::string& name, Tensor value, Regularizer reg = {});
  const Tensor& register_buffer(const std::string& name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  // Dotted names, in registration order (own entries first, then children in order).
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  std::vector<Tensor> parameters() const;
  // Looks up a parameter or buffer by dotted name; throws std::out_of_range naming it.
  Tensor find(const std::string& dotted_name) const;

  // Sum of every regularized parameter's penalty (rank-0, differentiable); zero if none.
  Tensor regularization_loss() const;

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();
  Index num_parameter_values() const;

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void check_new_name(const std::string& name) const;
  struct Entry {
    std::string name;
    Tensor value;
    Regularizer reg;
  };
  std::vector<Entry> params_;
  std::vector<Entry> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace lagrad
