#include "core/tape.h"

#include <stdexcept>

namespace lagrad {

namespace {
thread_local Tape t_default_tape;
thread_local Tape* t_active_tape = nullptr;
thread_local bool t_grad_enabled = true;
}  // namespace

void Tape::record(const Tensor& out, BackwardFn fn) { nodes_.push_back(Node{out, std::move(fn)}); }

void Tape::backward(const Tensor& root, const Tensor& seed) {
  if (!root.defined()) throw std::invalid_argument("backward: root tensor is undefined");
  if (!root.requires_grad())
    throw std::logic_error("backward: root does not require a gradient (no recorded op led to it)");
  if (seed.defined()) {
    check_same_shape("backward (seed)", root, seed);
    root.accumulate_grad(seed);
  } else {
    if (root.numel() != 1)
      throw std::invalid_argument("backward: root has shape " + shape_str(root.shape()) +
                                  "; give a seed gradient for a non-scalar root");
    root.accumulate_grad(Tensor::ones(root.shape()));
  }
  // Closures run with gradients disabled: one that calls ops on tensors requiring gradients
  // must not append to nodes_ while we walk it (that would invalidate the walk). On an
  // exception the tape is cleared too, so the next step starts clean.
  NoGradGuard no_grad;
  try {
    for (size_t i = nodes_.size(); i-- > 0;) {
      Node& node = nodes_[i];
      if (node.out.has_grad()) node.fn();
      node.out.zero_grad();  // intermediates keep no gradient
    }
  } catch (...) {
    clear();
    throw;
  }
  clear();
}

void Tape::clear() { nodes_.clear(); }

Tape& active_tape() { return t_active_tape ? *t_active_tape : t_default_tape; }

TapeScope::TapeScope(Tape& tape) : previous_(t_active_tape) { t_active_tape = &tape; }
TapeScope::~TapeScope() { t_active_tape = previous_; }

NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = previous_; }

bool grad_enabled() { return t_grad_enabled; }

bool should_record(std::initializer_list<const Tensor*> inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

bool should_record(const std::vector<Tensor>& inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record_op(Tensor& out, Tape::BackwardFn fn) {
  out.set_requires_grad(true);
  active_tape().record(out, std::move(fn));
}

void backward(const Tensor& root, const Tensor& seed) { active_tape().backward(root, seed); }

}  // namespace lagrad
