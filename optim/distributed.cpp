#include "optim/distributed.h"

#include <algorithm>
#include <vector>

namespace lagrad {

void broadcast_parameters(const Module& module, const Communicator& comm, int root) {
  if (comm.size() == 1) return;
  for (const auto& [name, t] : module.named_parameters()) comm.broadcast(t.data(), static_cast<size_t>(t.numel()), root);
  for (const auto& [name, t] : module.named_buffers()) comm.broadcast(t.data(), static_cast<size_t>(t.numel()), root);
}

void broadcast_optimizer_state(Optimizer& optimizer, const Communicator& comm, int root) {
  if (comm.size() == 1) return;
  const NamedTensors state = optimizer.state_tensors();  // handles to the live state
  for (const auto& [name, t] : state) comm.broadcast(t.data(), static_cast<size_t>(t.numel()), root);
  std::int64_t step = optimizer.step_count();
  comm.broadcast(step, root);
  optimizer.load_state(state, step);
}

void allreduce_gradients(const Module& module, const Communicator& comm, GradReduction reduction) {
  const auto params = module.named_parameters();
  size_t total = 0;
  for (const auto& [name, t] : params) total += static_cast<size_t>(t.numel());
  std::vector<float> flat;
  flat.reserve(total);
  for (const auto& [name, t] : params) {
    const Tensor& g = t.mutable_grad();  // zeros where no gradient arrived
    flat.insert(flat.end(), g.data(), g.data() + g.numel());
  }
  comm.allreduce_sum(flat.data(), flat.size());
  const float scale = reduction == GradReduction::Mean ? 1.0f / static_cast<float>(comm.size()) : 1.0f;
  const float* src = flat.data();
  for (const auto& [name, t] : params) {
    float* g = t.mutable_grad().data();
    for (Index k = 0; k < t.numel(); ++k) g[k] = scale == 1.0f ? src[k] : src[k] * scale;
    src += t.numel();
  }
}

}  // namespace lagrad
