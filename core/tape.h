#pragma once
// Tape-based reverse-mode autodiff.
//
// While a tape is active (every thread has a default one) and gradients are enabled, each op
// whose inputs require gradients appends one node: its output and a closure that reads the
// output's gradient and accumulates into the inputs' gradients. backward() walks the node array
// from the end (no recursion, no graph search), so arbitrarily long rollouts are fine.
#include <functional>
#include <initializer_list>
#include <vector>

#include "tensor.h"

namespace lagrad {

class Tape {
 public:
  using BackwardFn = std::function<void()>;

  // Appends a node. `out` is the op's result; its gradient is released after the node ran
  // (only leaves keep gradients).
  void record(const Tensor& out, BackwardFn fn);

  // Seeds root's gradient (ones for a one-element root, else `seed`, which must match its
  // shape), replays the nodes in reverse, then clears the tape.
  void backward(const Tensor& root, const Tensor& seed = Tensor());

  // Drops all nodes; keeps the node array's capacity for the next step.
  void clear();
  size_t size() const { return nodes_.size(); }

 private:
  struct Node {
    Tensor out;
    BackwardFn fn;
  };
  std::vector<Node> nodes_;
};

// The tape that ops on this thread record into (the thread's default tape unless a
// TapeScope is active).
Tape& active_tape();

// Makes `tape` the active tape of this thread for the scope's lifetime.
class TapeScope {
 public:
  explicit TapeScope(Tape& tape);
  ~TapeScope();
  TapeScope(const TapeScope&) = delete;
  TapeScope& operator=(const TapeScope&) = delete;

 private:
  Tape* previous_;
};

// While alive, ops on this thread record nothing and keep no intermediates (inference).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

bool grad_enabled();

// True when gradients are enabled and any of the inputs requires a gradient. Ops call this,
// and when true mark their output with requires_grad and record their backward.
bool should_record(std::initializer_list<const Tensor*> inputs);
bool should_record(const std::vector<Tensor>& inputs);

// Convenience: marks out as requiring grad and records fn on the active tape.
void record_op(Tensor& out, Tape::BackwardFn fn);

// backward on the active tape.
void backward(const Tensor& root, const Tensor& seed = Tensor());

}  // namespace lagrad
