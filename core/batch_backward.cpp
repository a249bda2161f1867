#include "core/batch_backward.h"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <exception>
#include <stdexcept>

#include "core/communicator.h"
#include "core/grad_sink.h"
#include "core/parallel.h"
#include "core/tape.h"

namespace lagrad {

namespace {

struct LocalResult {
  std::vector<float> losses;
  std::vector<GradSink> sinks;
  std::exception_ptr error;  // the lowest-index sample's, if any
};

// Samples [first, first + count), at most in_flight at a time.
LocalResult run_samples(size_t first, size_t count, const std::function<Tensor(size_t)>& sample_loss,
                        size_t in_flight) {
  LocalResult res;
  res.losses.assign(count, 0.0f);
  res.sinks.resize(count);
  // Errors are caught per sample and never cross the parallel loop: an exception there would
  // cancel the loop's task group, and with it, silently, the nested loops of samples still
  // running (whose half-computed tensors they would then go on reading).
  std::vector<std::exception_ptr> errors(count);
  auto run_sample = [&](size_t k) noexcept {
    try {
      // Isolation: while this sample waits inside its own parallel loops, its thread takes no
      // other sample's task (which would nest a second forward inside this one's backward).
      tbb::this_task_arena::isolate([&] {
        Tape tape;
        const TapeScope tape_scope(tape);
        const GradModeGuard recording(true);
        const GradSinkScope sink_scope(&res.sinks[k]);
        const Tensor loss = sample_loss(first + k);
        if (!loss.defined() || loss.numel() != 1)
          throw std::invalid_argument("batch_backward: sample " + std::to_string(first + k) + "'s loss has shape " +
                                      shape_str(loss.shape()) + ", expected one element");
        res.losses[k] = loss.item();
        backward(loss);
      });
    } catch (...) {
      errors[k] = std::current_exception();
    }
  };
  for (size_t begin = 0; begin < count; begin += in_flight) {
    const size_t end = std::min(count, begin + in_flight);
    if (end - begin == 1) {
      run_sample(begin);
    } else {
      tbb::parallel_for(begin, end, [&](size_t k) { run_sample(k); });
    }
    for (size_t k = begin; k < end; ++k)
      if (errors[k] && !res.error) res.error = errors[k];
    if (res.error) break;
  }
  return res;
}

// One sample's record in the gathered buffer: [loss, present(param) x P, values of the present
// params' gradients in param order]. Absent params (no gradient reached them) send no values.
void pack_sample(const GradSink& sink, float loss, const std::vector<Tensor>& params, std::vector<float>& out) {
  out.push_back(loss);
  for (const Tensor& p : params) out.push_back(sink.find(p) ? 1.0f : 0.0f);
  for (const Tensor& p : params)
    if (const Tensor* g = sink.find(p)) out.insert(out.end(), g->data(), g->data() + g->numel());
}

const float* unpack_sample(const float* in, const std::vector<Tensor>& params, GradSink& sink, float& loss) {
  loss = *in++;
  const float* present = in;
  in += params.size();
  for (size_t j = 0; j < params.size(); ++j) {
    if (present[j] == 0.0f) continue;
    Tensor& g = sink.buffer(params[j]);
    std::copy(in, in + g.numel(), g.data());
    in += g.numel();
  }
  return in;
}

}  // namespace

std::vector<float> batch_backward(size_t num_samples, const std::function<Tensor(size_t)>& sample_loss,
                                  const std::vector<Tensor>& params, const BatchBackwardOptions& options) {
  if (options.max_samples_in_flight < 0)
    throw std::invalid_argument("batch_backward: max_samples_in_flight must be >= 0, got " +
                                std::to_string(options.max_samples_in_flight));
  const size_t in_flight = static_cast<size_t>(
      std::max(1, options.max_samples_in_flight > 0 ? options.max_samples_in_flight : num_threads()));
  const Communicator* comm = options.communicator;
  if (!comm || comm->size() == 1) {
    LocalResult res = run_samples(0, num_samples, sample_loss, in_flight);
    if (res.error) std::rethrow_exception(res.error);
    add_sink_gradients(params, res.sinks);
    return res.losses;
  }

  // This rank's contiguous share of the samples (sizes differ by at most one).
  const size_t K = static_cast<size_t>(comm->size()), r = static_cast<size_t>(comm->rank());
  const size_t first = num_samples * r / K, last = num_samples * (r + 1) / K;
  LocalResult local = run_samples(first, last - first, sample_loss, in_flight);
  if (comm->any(local.error != nullptr)) {
    if (local.error) std::rethrow_exception(local.error);
    throw std::runtime_error("batch_backward: another process failed on its samples (its error is in its log)");
  }
  std::vector<float> block;
  for (size_t k = 0; k < local.sinks.size(); ++k) pack_sample(local.sinks[k], local.losses[k], params, block);
  local.sinks.clear();  // free this rank's buffers before the gathered copy arrives
  const std::vector<float> all = comm->allgather(block);
  // Ranks' blocks come in rank order, each in sample order: the concatenation is sample order.
  std::vector<float> losses(num_samples);
  std::vector<GradSink> sinks(num_samples);
  const float* in = all.data();
  for (size_t i = 0; i < num_samples; ++i) in = unpack_sample(in, params, sinks[i], losses[i]);
  add_sink_gradients(params, sinks);
  return losses;
}

}  // namespace lagrad
