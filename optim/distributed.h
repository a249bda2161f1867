#pragma once
// Data parallelism in a user's own training loop, with Horovod's / DistributedDataParallel's
// habits: start every rank from the same parameters, then after each backward reduce the
// gradients across ranks before the optimizer step. Reductions add in rank order, so every
// rank gets the same bits and stays in lockstep (docs/distributed.md; examples/distributed_fit.cpp).
// Without MPI (or mpirun) these are no-ops on a communicator of size 1.
#include "../core/communicator.h"
#include "../layers/module.h"
#include "optimizer.h"

namespace lagrad {

enum class GradReduction { Sum, Mean };

// Copies root's parameters and buffers into every rank's module (same names and shapes).
void broadcast_parameters(const Module& module, const Communicator& comm = Communicator::world(), int root = 0);

// Copies root's optimizer state (moments, step count) to every rank, e.g. after root alone
// loaded a checkpoint.
void broadcast_optimizer_state(Optimizer& optimizer, const Communicator& comm = Communicator::world(), int root = 0);

// Replaces every parameter's gradient by its sum (or mean) over the ranks, in one collective.
// A parameter that received no gradient on a rank counts as zeros there; after the call every
// parameter has a gradient on every rank.
void allreduce_gradients(const Module& module, const Communicator& comm = Communicator::world(),
                         GradReduction reduction = GradReduction::Mean);

}  // namespace lagrad
