#pragma once
// GradSink: private gradient buffers for the leaves (parameters) of one task.
//
// While a GradSinkScope is active on a thread, every gradient that backward writes into a leaf
// tensor (one without grad_fn: parameters, inputs) goes into the sink's buffer for that leaf
// instead of the leaf's own grad(). Samples of a batch can then run forward and backward
// concurrently, each with its own tape and sink, and their gradients be added into the
// parameters afterwards in sample order: bitwise the same result at any thread count, or
// spread over processes (docs/autodiff.md, "Sample-parallel batches").
#include <unordered_map>
#include <vector>

#include "tensor.h"

namespace lagrad {

class GradSink {
 public:
  // The buffer for `leaf`, created zero-filled with its shape on first use.
  Tensor& buffer(const Tensor& leaf);
  // The buffer for `leaf` if backward wrote one, else nullptr.
  const Tensor* find(const Tensor& leaf) const;

 private:
  std::unordered_map<const TensorImpl*, Tensor> buffers_;  // references stay valid on insert
};

// Adds, for each leaf in `leaves` (in that order), the buffers of `sinks` in their order into
// the leaf's gradient: grad = ((s0 + s1) + s2) + ... (set on first write, as accumulate_grad).
void add_sink_gradients(const std::vector<Tensor>& leaves, const std::vector<GradSink>& sinks);

// Makes `sink` receive this thread's leaf gradients for the scope's lifetime (nullptr: none).
class GradSinkScope {
 public:
  explicit GradSinkScope(GradSink* sink);
  ~GradSinkScope();
  GradSinkScope(const GradSinkScope&) = delete;
  GradSinkScope& operator=(const GradSinkScope&) = delete;

 private:
  GradSink* previous_;
};

// The sink active on this thread, or nullptr.
GradSink* active_grad_sink();

}  // namespace lagrad
