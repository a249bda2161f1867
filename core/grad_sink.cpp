#include "core/grad_sink.h"

namespace lagrad {

namespace {
thread_local GradSink* t_sink = nullptr;
}  // namespace

Tensor& GradSink::buffer(const Tensor& leaf) {
  auto it = buffers_.find(leaf.impl());
  if (it == buffers_.end()) it = buffers_.emplace(leaf.impl(), Tensor(leaf.shape())).first;
  return it->second;
}

const Tensor* GradSink::find(const Tensor& leaf) const {
  const auto it = buffers_.find(leaf.impl());
  return it == buffers_.end() ? nullptr : &it->second;
}

void add_sink_gradients(const std::vector<Tensor>& leaves, const std::vector<GradSink>& sinks) {
  const GradSinkScope none(nullptr);  // the adds go into the leaves themselves
  for (const Tensor& leaf : leaves)
    for (const GradSink& sink : sinks)
      if (const Tensor* g = sink.find(leaf)) leaf.accumulate_grad(*g);
}

GradSinkScope::GradSinkScope(GradSink* sink) : previous_(t_sink) { t_sink = sink; }
GradSinkScope::~GradSinkScope() { t_sink = previous_; }

GradSink* active_grad_sink() { return t_sink; }

}  // namespace lagrad
