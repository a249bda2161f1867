#include "core/tape.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>

namespace lagrad {

namespace detail {
// The tape's access to a tensor's shared implementation (for the node's weak link to its
// output, and to hand that output back to the closure).
struct TensorAccess {
  static const std::shared_ptr<TensorImpl>& impl(const Tensor& t) { return t.impl_; }
  static Tensor wrap(std::shared_ptr<TensorImpl> impl) {
    Tensor t;
    t.impl_ = std::move(impl);
    return t;
  }
};
}  // namespace detail

using detail::TensorAccess;

namespace {
thread_local Tape t_default_tape;
thread_local Tape* t_active_tape = nullptr;
thread_local bool t_grad_enabled = true;

std::atomic<uint64_t> g_next_seq{1};
std::atomic<uint64_t> g_next_mark{1};

// What a dying node owned, freed later by the outermost node destructor on this thread.
struct NodeRemains {
  GradNode::BackwardFn fn;
  std::vector<std::shared_ptr<GradNode>> inputs;
};
thread_local bool t_freeing_nodes = false;
thread_local std::vector<NodeRemains> t_remains;

void release(GradNode& node) {
  node.fn = nullptr;
  node.inputs.clear();
  node.released = true;
}
}  // namespace

GradNode::~GradNode() {
  // A chain node -> closure -> captured input -> its node -> ... would free recursively. The
  // outermost destructor frees; nested ones hand their remains to it.
  if (t_freeing_nodes) {
    if (fn || !inputs.empty()) t_remains.push_back(NodeRemains{std::move(fn), std::move(inputs)});
    return;
  }
  t_freeing_nodes = true;
  {
    NodeRemains mine{std::move(fn), std::move(inputs)};
  }
  while (!t_remains.empty()) {
    NodeRemains next = std::move(t_remains.back());
    t_remains.pop_back();
  }  // `next` dies here and may push more remains
  t_freeing_nodes = false;
}

void Tape::append(const std::shared_ptr<GradNode>& node) {
  nodes_.push_back(node);
  if (nodes_.size() >= compact_at_) {
    compact();
    compact_at_ = std::max<size_t>(64, 2 * nodes_.size());  // amortized O(1) per record
  }
}

void Tape::compact() const {
  nodes_.erase(std::remove_if(nodes_.begin(), nodes_.end(),
                              [](const std::weak_ptr<GradNode>& w) {
                                const auto n = w.lock();
                                return !n || n->released;
                              }),
               nodes_.end());
}

namespace {
std::shared_ptr<GradNode> make_node(Tensor& out, Tape::BackwardFn fn) {
  if (!out.defined()) throw std::logic_error("record_op: the output is undefined");
  auto node = std::make_shared<GradNode>();
  node->seq = g_next_seq.fetch_add(1, std::memory_order_relaxed);
  node->fn = std::move(fn);
  node->out = TensorAccess::impl(out);
  return node;
}

void link_input(GradNode& node, const Tensor& in) {
  if (in.defined() && in.requires_grad() && in.grad_fn()) node.inputs.push_back(in.grad_fn());
}

void attach(Tensor& out, const std::shared_ptr<GradNode>& node) {
  out.set_requires_grad(true);
  TensorAccess::impl(out)->grad_fn = node;
}
}  // namespace

void Tape::record(Tensor& out, std::initializer_list<const Tensor*> inputs, BackwardFn fn) {
  auto node = make_node(out, std::move(fn));
  for (const Tensor* in : inputs)
    if (in) link_input(*node, *in);
  attach(out, node);
  append(node);
}

void Tape::record(Tensor& out, const std::vector<Tensor>& inputs, BackwardFn fn) {
  auto node = make_node(out, std::move(fn));
  for (const Tensor& in : inputs) link_input(*node, in);
  attach(out, node);
  append(node);
}

void Tape::backward(const Tensor& root, const Tensor& seed, const BackwardOptions& options) const {
  lagrad::backward(root, seed, options);
}

void Tape::clear() {
  for (const auto& w : nodes_)
    if (auto n = w.lock()) release(*n);
  nodes_.clear();
  compact_at_ = 64;
}

size_t Tape::size() const {
  compact();
  return nodes_.size();
}

Tape& active_tape() { return t_active_tape ? *t_active_tape : t_default_tape; }

TapeScope::TapeScope(Tape& tape) : previous_(t_active_tape) { t_active_tape = &tape; }
TapeScope::~TapeScope() { t_active_tape = previous_; }

NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = previous_; }

GradModeGuard::GradModeGuard(bool enabled) : previous_(t_grad_enabled) { t_grad_enabled = enabled; }
GradModeGuard::~GradModeGuard() { t_grad_enabled = previous_; }

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

void record_op(Tensor& out, std::initializer_list<const Tensor*> inputs, Tape::BackwardFn fn) {
  active_tape().record(out, inputs, std::move(fn));
}

void record_op(Tensor& out, const std::vector<Tensor>& inputs, Tape::BackwardFn fn) {
  active_tape().record(out, inputs, std::move(fn));
}

namespace {
void seed_root(const Tensor& root, const Tensor& seed) {
  if (seed.defined()) {
    check_same_shape("backward (seed)", root, seed);
    root.accumulate_grad(seed);
  } else {
    if (root.numel() != 1)
      throw std::invalid_argument("backward: root has shape " + shape_str(root.shape()) +
                                  "; give a seed gradient for a non-scalar root");
    root.accumulate_grad(Tensor::ones(root.shape()));
  }
}

const char* const kReleasedMessage =
    "backward: the graph was already released by an earlier backward through it (its "
    "intermediate results are freed); recompute the forward pass, or pass "
    "BackwardOptions().retain_graph(true) to the earlier backward";

// The nodes root depends on, in reverse execution order, with their outputs held alive for the
// pass. Walks back with an explicit stack; throws before touching anything when a node on the
// way was released.
struct Marked {
  std::vector<std::shared_ptr<GradNode>> nodes;
  std::vector<Tensor> outs;
};

Marked mark_graph(const std::shared_ptr<GradNode>& root_node) {
  const uint64_t stamp = g_next_mark.fetch_add(1, std::memory_order_relaxed);
  Marked m;
  std::vector<GradNode*> stack{root_node.get()};
  root_node->mark = stamp;
  m.nodes.push_back(root_node);
  while (!stack.empty()) {
    GradNode* n = stack.back();
    stack.pop_back();
    if (n->released) throw std::logic_error(kReleasedMessage);
    for (const auto& in : n->inputs) {
      if (in->mark == stamp) continue;
      in->mark = stamp;
      m.nodes.push_back(in);
      stack.push_back(in.get());
    }
  }
  // A node's inputs were recorded before it: descending execution order is a valid order.
  std::sort(m.nodes.begin(), m.nodes.end(),
            [](const std::shared_ptr<GradNode>& a, const std::shared_ptr<GradNode>& b) { return a->seq > b->seq; });
  m.outs.reserve(m.nodes.size());
  for (const auto& n : m.nodes) m.outs.push_back(TensorAccess::wrap(n->out.lock()));
  return m;
}
}  // namespace

void backward(const Tensor& root, const Tensor& seed, const BackwardOptions& options) {
  if (!root.defined()) throw std::invalid_argument("backward: root tensor is undefined");
  if (!root.requires_grad())
    throw std::logic_error("backward: root does not require a gradient (no recorded op led to it)");
  const std::shared_ptr<GradNode> root_node = root.grad_fn();
  Marked m = root_node ? mark_graph(root_node) : Marked{};
  seed_root(root, seed);
  if (!root_node) return;  // a leaf: its gradient is the seed

  // Closures run with gradients disabled: one written with ops must not record. On an
  // exception the graph is released all the same (its gradients are half-done).
  NoGradGuard no_grad;
  const bool release_after = !options.retain_graph();
  try {
    for (size_t i = 0; i < m.nodes.size(); ++i) {
      GradNode& node = *m.nodes[i];
      const Tensor& out = m.outs[i];
      if (!out.defined()) continue;  // nothing can hold a gradient for a dead output
      if (out.has_grad()) node.fn(out);
      out.zero_grad();  // intermediates keep no gradient
    }
  } catch (...) {
    for (const auto& n : m.nodes) release(*n);
    throw;
  }
  if (release_after)
    for (const auto& n : m.nodes) release(*n);
}

void backward(const Tensor& root, const BackwardOptions& options) { backward(root, Tensor(), options); }

}  // namespace lagrad
