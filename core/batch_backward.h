#pragma once
// Sample-parallel backward: the samples of a batch are independent until their gradients are
// summed, so they run concurrently, each on its own tape with its own GradSink, and their
// parameter gradients are added in sample order afterwards. Over several processes each rank
// computes a contiguous share of the samples and every rank adds all of them, still in sample
// order. The result is bitwise the same at any thread count, number of samples in flight and
// number of processes (docs/autodiff.md, docs/distributed.md).
#include <functional>
#include <vector>

#include "tensor.h"

namespace lagrad {

class Communicator;

struct BatchBackwardOptions {
  // At most this many samples are alive at once in a process (each holds its forward's
  // intermediates until its backward ran: memory grows with it). 0: one per thread.
  int max_samples_in_flight = 0;
  // Spread the samples over these processes (nullptr or size 1: this process does all).
  const Communicator* communicator = nullptr;
};

// For i in [0, num_samples): loss = sample_loss(i) (a one-element tensor, recorded with
// gradients on), backward(loss). Gradients of `params` from all samples are then accumulated
// into params' grad() in sample order: grad += ((g_0 + g_1) + g_2) + ... Returns all samples'
// losses (on every rank). sample_loss must be safe to call concurrently for different i
// (lagrad's layers and networks are: their forward keeps no state). The first sample's
// exception is rethrown after the batch stopped and no gradient is added; with a
// communicator, the other ranks throw std::runtime_error saying that a rank failed.
std::vector<float> batch_backward(size_t num_samples, const std::function<Tensor(size_t)>& sample_loss,
                                  const std::vector<Tensor>& params,
                                  const BatchBackwardOptions& options = BatchBackwardOptions());

}  // namespace lagrad
