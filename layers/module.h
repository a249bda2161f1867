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

// A module's parameters as libtorch's model.parameters() gives them: iterates as tensors, and
// keeps their dotted names so that an optimizer built from it (it converts to the optimizers'
// name -> tensor list) keys its state by name, as from named_parameters().
class ParameterList {
 public:
  explicit ParameterList(std::vector<std::pair<std::string, Tensor>> named);
  operator std::vector<std::pair<std::string, Tensor>>() const { return named_; }
  const std::vector<std::pair<std::string, Tensor>>& named() const { return named_; }
  std::vector<Tensor>::const_iterator begin() const { return tensors_.begin(); }
  std::vector<Tensor>::const_iterator end() const { return tensors_.end(); }
  size_t size() const { return tensors_.size(); }
  bool empty() const { return tensors_.empty(); }
  const Tensor& operator[](size_t i) const { return tensors_.at(i); }

 private:
  std::vector<std::pair<std::string, Tensor>> named_;
  std::vector<Tensor> tensors_;
};

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
  // named_parameters() and parameters() throw std::logic_error while a lazy layer (a Dense or
  // ContinuousConv without in_features / in_channels) has not created its parameters: an
  // optimizer or checkpoint built from such a list would silently miss them. Build first:
  // give the width in the options, call build(width), or run one forward pass.
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  ParameterList parameters() const;
  // Dotted paths of this module and its descendants whose parameters do not exist yet ("" for
  // the module itself); empty once everything is built.
  std::vector<std::string> unbuilt_modules() const;
  // Looks up a parameter or buffer by dotted name; throws std::out_of_range naming it.
  Tensor find(const std::string& dotted_name) const;

  // Sum of every regularized parameter's penalty (rank-0, differentiable); zero if none.
  Tensor regularization_loss() const;

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();
  Index num_parameter_values() const;

 protected:
  // Lazy layers return true until they created their parameters.
  virtual bool parameters_pending() const { return false; }

 private:
  void collect_parameters(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const;
  void collect_unbuilt(const std::string& prefix, std::vector<std::string>& out) const;
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
