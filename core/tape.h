#pragma once
// Tape-based reverse-mode autodiff.
//
// While gradients are enabled, each op whose inputs require gradients records one node: a
// closure that reads the output's gradient and accumulates into the inputs' gradients, plus
// links to the nodes of those inputs. The op's output owns its node (Tensor::grad_fn()), so a
// graph lives exactly as long as some tensor can still reach it; the active tape keeps weak
// references in execution order and drops expired ones as it grows.
//
// backward(root) marks the nodes root depends on (walking back from root's node with an
// explicit stack: no recursion), runs them in reverse execution order and then releases them
// (their closures and what those captured are freed). Other pending graphs are untouched. A
// second backward through a released node throws std::logic_error, unless the first one was
// asked to retain the graph. The contract, and where it differs from libtorch: docs/autodiff.md.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <vector>

#include "tensor.h"

namespace lagrad {

// One recorded op. Created by record_op; owned by the op's output (and by the nodes of ops
// that consumed it); a tape only observes it.
struct GradNode {
  // Reads out.grad() and accumulates into the inputs' gradients. `out` is passed in, not
  // captured: a closure that captured its own output would keep its graph alive forever.
  using BackwardFn = std::function<void(const Tensor& out)>;

  uint64_t seq = 0;                               // global execution order
  BackwardFn fn;                                  // empty once released
  std::vector<std::shared_ptr<GradNode>> inputs;  // nodes of the inputs that have one
  std::weak_ptr<TensorImpl> out;                  // the op's output (it owns this node)
  bool released = false;                          // a backward ran and freed this node
  uint64_t mark = 0;                              // backward's visit stamp

  GradNode() = default;
  GradNode(const GradNode&) = delete;
  GradNode& operator=(const GradNode&) = delete;
  // Frees a long chain of nodes iteratively (a recursive free would overflow the stack on
  // long rollouts that were never backpropagated).
  ~GradNode();
};

// Options of backward(); chained setters.
class BackwardOptions {
 public:
  // Keep the graph after backward, so that another backward can run through it (libtorch's
  // retain_graph). Without it the nodes are released and a second backward throws.
  BackwardOptions& retain_graph(bool on) {
    retain_graph_ = on;
    return *this;
  }
  bool retain_graph() const { return retain_graph_; }

 private:
  bool retain_graph_ = false;
};

// The record of the nodes of one task (a thread, a training sample), in execution order.
// It holds weak references: destroying a tape, or the tensors of a graph, is always safe.
class Tape {
 public:
  using BackwardFn = GradNode::BackwardFn;

  // Records a node for `out` on this tape; `inputs` are the op's inputs (those that require a
  // gradient and have a node become its links). Marks out as requiring a gradient.
  void record(Tensor& out, std::initializer_list<const Tensor*> inputs, BackwardFn fn);
  void record(Tensor& out, const std::vector<Tensor>& inputs, BackwardFn fn);

  // backward(root, seed, options) for a root recorded on any tape (kept for callers that hold
  // a Tape; the graph, not the tape, decides what runs).
  void backward(const Tensor& root, const Tensor& seed = Tensor(),
                const BackwardOptions& options = BackwardOptions()) const;

  // Releases every node recorded on this tape that is still alive: a later backward through
  // them throws. Frees the closures' captures at once.
  void clear();
  // The nodes recorded on this tape that are alive (some tensor reaches them) and not released.
  size_t size() const;

 private:
  void append(const std::shared_ptr<GradNode>& node);
  void compact() const;

  mutable std::vector<std::weak_ptr<GradNode>> nodes_;
  mutable size_t compact_at_ = 64;
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

// Sets gradient recording on or off for the scope's lifetime (a task that must record whatever
// the thread it runs on was doing sets it explicitly).
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled);
  ~GradModeGuard();
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

bool grad_enabled();

// True when gradients are enabled and any of the inputs requires a gradient. Ops call this,
// and when true record their backward with record_op.
bool should_record(std::initializer_list<const Tensor*> inputs);
bool should_record(const std::vector<Tensor>& inputs);

// Records an op on the active tape: out gets a node linked to the inputs' nodes.
void record_op(Tensor& out, std::initializer_list<const Tensor*> inputs, Tape::BackwardFn fn);
void record_op(Tensor& out, const std::vector<Tensor>& inputs, Tape::BackwardFn fn);

// Backpropagates from root: seeds its gradient (ones for a one-element root, else `seed`, which
// must match its shape), runs the nodes root depends on in reverse execution order, and
// releases them unless options.retain_graph(). Leaves accumulate their gradients; intermediate
// outputs keep none. Throws std::logic_error when root's graph was already released.
void backward(const Tensor& root, const Tensor& seed = Tensor(),
              const BackwardOptions& options = BackwardOptions());
void backward(const Tensor& root, const BackwardOptions& options);

}  // namespace lagrad
