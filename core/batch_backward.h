#pragma once
// Sample-parallel backward: the samples of a batch are independent until their gradients are
// summed, so they run concurrently, each on its own tape with its own GradSink, and their
// parameter gradients are added in sample order afterwards. The result is bitwise the same at
// any thread count and any number of samples in flight (docs/autodiff.md).
#include <functional>
#include <vector>

#include "tensor.h"

namespace lagrad {

struct BatchBackwardOptions {
  // At most this many samples are alive at once (each holds its forward's intermediates until
  // its backward ran: memory grows with it). 0: one per thread, i.e. num_threads().
  int max_samples_in_flight = 0;
};

// For i in [0, num_samples): loss = sample_loss(i) (a one-element tensor, recorded with
// gradients on), backward(loss). Gradients of `params` from all samples are then accumulated
// into params' grad() in sample order: grad += ((g_0 + g_1) + g_2) + ... Returns the losses.
// sample_loss must be safe to call concurrently for different i (lagrad's layers and
// networks are: their forward keeps no state). The first exception thrown by a sample is
// rethrown after the batch stopped; no gradient is then added.
std::vector<float> batch_backward(size_t num_samples, const std::function<Tensor(size_t)>& sample_loss,
                                  const std::vector<Tensor>& params,
                                  const BatchBackwardOptions& options = BatchBackwardOptions());

}  // namespace lagrad
