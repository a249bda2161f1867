#include "core/batch_backward.h"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <exception>
#include <stdexcept>

#include "core/grad_sink.h"
#include "core/parallel.h"
#include "core/tape.h"

namespace lagrad {

std::vector<float> batch_backward(size_t num_samples, const std::function<Tensor(size_t)>& sample_loss,
                                  const std::vector<Tensor>& params, const BatchBackwardOptions& options) {
  if (options.max_samples_in_flight < 0)
    throw std::invalid_argument("batch_backward: max_samples_in_flight must be >= 0, got " +
                                std::to_string(options.max_samples_in_flight));
  const size_t in_flight = static_cast<size_t>(
      std::max(1, options.max_samples_in_flight > 0 ? options.max_samples_in_flight : num_threads()));
  std::vector<float> losses(num_samples, 0.0f);
  std::vector<GradSink> sinks(num_samples);
  // Errors are caught per sample and never cross the parallel loop: an exception there would
  // cancel the loop's task group, and with it, silently, the nested loops of samples still
  // running (whose half-computed tensors they would then go on reading).
  std::vector<std::exception_ptr> errors(num_samples);

  auto run_sample = [&](size_t i) noexcept {
    try {
      // Isolation: while this sample waits inside its own parallel loops, its thread takes no
      // other sample's task (which would nest a second forward inside this one's backward).
      tbb::this_task_arena::isolate([&] {
        Tape tape;
        const TapeScope tape_scope(tape);
        const GradModeGuard recording(true);
        const GradSinkScope sink_scope(&sinks[i]);
        const Tensor loss = sample_loss(i);
        if (!loss.defined() || loss.numel() != 1)
          throw std::invalid_argument("batch_backward: sample " + std::to_string(i) + "'s loss has shape " +
                                      shape_str(loss.shape()) + ", expected one element");
        losses[i] = loss.item();
        backward(loss);
      });
    } catch (...) {
      errors[i] = std::current_exception();
    }
  };
  for (size_t begin = 0; begin < num_samples; begin += in_flight) {
    const size_t end = std::min(num_samples, begin + in_flight);
    if (end - begin == 1) {
      run_sample(begin);
    } else {
      tbb::parallel_for(begin, end, [&](size_t i) { run_sample(i); });
    }
    if (std::any_of(errors.begin() + static_cast<std::ptrdiff_t>(begin), errors.begin() + static_cast<std::ptrdiff_t>(end),
                    [](const std::exception_ptr& e) { return e != nullptr; }))
      break;
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);  // the first sample's error, whatever the timing
  add_sink_gradients(params, sinks);
  return losses;
}

}  // namespace lagrad
