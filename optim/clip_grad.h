#pragma once
// Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_ with the 2-norm):
//
//   total = sqrt(sum over parameters of sum(grad^2))
//   if total > max_norm: every grad *= max_norm / (total + 1e-6)
//
// The norm is accumulated in double over fixed chunks combined in order, so it is bitwise
// independent of the thread count. Parameters without a gradient are skipped.
#include <vector>

#include "optimizer.h"

namespace lagrad {

// Returns the pre-clip global norm. max_norm must be > 0 (std::invalid_argument otherwise).
// A non-finite norm (a NaN or inf gradient) is returned and the gradients are left unchanged,
// so the caller can skip the step.
float clip_grad_norm(const std::vector<Tensor>& params, float max_norm);
float clip_grad_norm(const NamedTensors& params, float max_norm);

// The global gradient norm alone, without clipping.
float grad_norm(const std::vector<Tensor>& params);

}  // namespace lagrad
