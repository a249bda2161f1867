#include "layers/module.h"

#include <stdexcept>

#include "core/ops.h"

namespace lagrad {

void Module::check_new_name(const std::string& name) const {
  if (name.empty()) throw std::invalid_argument("Module: empty name");
  if (name.find('.') != std::string::npos)
    throw std::invalid_argument("Module: name '" + name + "' must not contain '.'");
  auto taken = [&](const auto& list) {
    for (const auto& e : list)
      if (e.name == name) return true;
    return false;
  };
  bool child = false;
  for (const auto& c : children_) child |= c.first == name;
  if (taken(params_) || taken(buffers_) || child)
    throw std::invalid_argument("Module: name '" + name + "' is already registered");
}

const Tensor& Module::register_parameter(const std::string& name, Tensor value, Regularizer reg) {
  check_new_name(name);
  if (!value.defined()) throw std::invalid_argument("Module: parameter '" + name + "' is undefined");
  value.set_requires_grad(true);
  value.set_name(name);
  params_.push_back({name, value, reg});
  return params_.back().value;
}

const Tensor& Module::register_buffer(const std::string& name, Tensor value) {
  check_new_name(name);
  if (!value.defined()) throw std::invalid_argument("Module: buffer '" + name + "' is undefined");
  value.set_name(name);
  buffers_.push_back({name, value, {}});
  return buffers_.back().value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name);
  if (!module) throw std::invalid_argument("Module: sub-module '" + name + "' is null");
  module->train(training_);
  children_.emplace_back(name, std::move(module));
}

ParameterList::ParameterList(std::vector<std::pair<std::string, Tensor>> named) : named_(std::move(named)) {
  tensors_.reserve(named_.size());
  for (const auto& nt : named_) tensors_.push_back(nt.second);
}

void Module::collect_parameters(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& p : params_) out.emplace_back(prefix + p.name, p.value);
  for (const auto& [cname, child] : children_) child->collect_parameters(prefix + cname + ".", out);
}

void Module::collect_unbuilt(const std::string& prefix, std::vector<std::string>& out) const {
  if (parameters_pending()) out.push_back(prefix.empty() ? std::string() : prefix.substr(0, prefix.size() - 1));
  for (const auto& [cname, child] : children_) child->collect_unbuilt(prefix + cname + ".", out);
}

std::vector<std::string> Module::unbuilt_modules() const {
  std::vector<std::string> out;
  collect_unbuilt("", out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  const std::vector<std::string> unbuilt = unbuilt_modules();
  if (!unbuilt.empty()) {
    std::string names;
    for (const auto& n : unbuilt) names += (names.empty() ? "" : ", ") + (n.empty() ? "the module itself" : "'" + n + "'");
    throw std::logic_error("Module: parameters taken before these lazy layers created theirs: " + names +
                           " (a lazy layer learns its input width on the first forward): give in_features / in_channels in the options, call build(width), or run "
                           "one forward pass before taking the parameters (optimizer, checkpoint)");
  }
  std::vector<std::pair<std::string, Tensor>> out;
  collect_parameters("", out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& b : buffers_) out.emplace_back(b.name, b.value);
  for (const auto& [cname, child] : children_)
    for (auto& [n, t] : child->named_buffers()) out.emplace_back(cname + "." + n, t);
  return out;
}

ParameterList Module::parameters() const { return ParameterList(named_parameters()); }

Tensor Module::find(const std::string& dotted_name) const {
  for (auto& [n, t] : named_parameters())
    if (n == dotted_name) return t;
  for (auto& [n, t] : named_buffers())
    if (n == dotted_name) return t;
  throw std::out_of_range("Module: no parameter or buffer named '" + dotted_name + "'");
}

Tensor Module::regularization_loss() const {
  Tensor total = Tensor::scalar(0.0f);
  for (const auto& p : params_)
    if (p.reg.active()) total = add(total, regularization_penalty(p.value, p.reg));
  for (const auto& c : children_) total = add(total, c.second->regularization_loss());
  return total;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& c : children_) c.second->train(on);
}

void Module::zero_grad() {
  std::vector<std::pair<std::string, Tensor>> all;
  collect_parameters("", all);  // the built ones; a lazy layer has no gradient to drop yet
  for (auto& nt : all) nt.second.zero_grad();
}

Index Module::num_parameter_values() const {
  std::vector<std::pair<std::string, Tensor>> all;
  collect_parameters("", all);
  Index n = 0;
  for (auto& nt : all) n += nt.second.numel();
  return n;
}

}  // namespace lagrad
