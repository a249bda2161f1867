// batch_backward: samples run concurrently on their own tapes and gradient sinks; gradients are
// added in sample order, so the result is bitwise the same at any thread count or number of
// samples in flight.
#include <doctest/doctest.h>

#include <cstring>
#include <stdexcept>

#include "core/batch_backward.h"
#include "core/grad_sink.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"
#include "core/tape.h"

using namespace lagrad;

namespace {
struct Problem {
  Tensor w1, w2;
  std::vector<Tensor> inputs;
  Problem() {
    Rng rng(11);
    auto fill = [&](Tensor t) {
      for (Index i = 0; i < t.numel(); ++i) t.data()[i] = rng.uniform(-1.0f, 1.0f);
      return t;
    };
    w1 = fill(Tensor({24, 48}));
    w2 = fill(Tensor({48, 1}));
    w1.set_requires_grad();
    w2.set_requires_grad();
    for (int i = 0; i < 7; ++i) inputs.push_back(fill(Tensor({300 + 50 * i, 24})));  // unequal work
  }
  Tensor loss(size_t i) const {  // big enough that the ops' own loops split into chunks
    return mean(square(matmul(tanh(matmul(inputs[i], w1)), w2)));
  }
  std::vector<Tensor> params() const { return {w1, w2}; }
};

std::vector<float> grads(const Problem& p) {
  std::vector<float> g = p.w1.grad().to_vector();
  const std::vector<float> g2 = p.w2.grad().to_vector();
  g.insert(g.end(), g2.begin(), g2.end());
  return g;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
}  // namespace

TEST_CASE("batch_backward: bitwise the same for 1 or 2 threads and any number of samples in flight") {
  Problem p;
  std::vector<float> reference, reference_losses;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (int in_flight : {1, 2, 3, 7, 0}) {
      p.w1.zero_grad();
      p.w2.zero_grad();
      BatchBackwardOptions o;
      o.max_samples_in_flight = in_flight;
      const std::vector<float> losses = batch_backward(p.inputs.size(), [&](size_t i) { return p.loss(i); },
                                                       p.params(), o);
      if (reference.empty()) {
        reference = grads(p);
        reference_losses = losses;
      }
      CAPTURE(threads);
      CAPTURE(in_flight);
      CHECK(bitwise_equal(grads(p), reference));
      CHECK(bitwise_equal(losses, reference_losses));
    }
  }
  set_num_threads(0);
  // The same numbers as sequential per-sample backward, up to float summation order.
  p.w1.zero_grad();
  p.w2.zero_grad();
  for (size_t i = 0; i < p.inputs.size(); ++i) backward(p.loss(i));
  const std::vector<float> sequential = grads(p);
  REQUIRE(sequential.size() == reference.size());
  for (size_t k = 0; k < sequential.size(); ++k) CHECK(reference[k] == doctest::Approx(sequential[k]).epsilon(1e-5));
}

TEST_CASE("batch_backward: gradients are added in sample order onto what the leaves held") {
  Problem p;
  // Explicit: per-sample sinks summed in order, onto an existing gradient of 1.
  std::vector<GradSink> sinks(p.inputs.size());
  for (size_t i = 0; i < sinks.size(); ++i) {
    const GradSinkScope scope(&sinks[i]);
    backward(p.loss(i));
    CHECK_FALSE(p.w1.has_grad());  // the sink took it
  }
  p.w1.accumulate_grad(Tensor::ones(p.w1.shape()));
  p.w2.accumulate_grad(Tensor::ones(p.w2.shape()));
  add_sink_gradients(p.params(), sinks);
  const std::vector<float> expected = grads(p);

  p.w1.zero_grad();
  p.w2.zero_grad();
  p.w1.accumulate_grad(Tensor::ones(p.w1.shape()));
  p.w2.accumulate_grad(Tensor::ones(p.w2.shape()));
  batch_backward(p.inputs.size(), [&](size_t i) { return p.loss(i); }, p.params());
  CHECK(bitwise_equal(grads(p), expected));
}

TEST_CASE("batch_backward: a failing sample's error is rethrown and no gradient is added") {
  Problem p;
  auto failing = [&](size_t i) {
    if (i == 2 || i == 5) throw std::runtime_error("sample " + std::to_string(i) + " failed");
    return p.loss(i);
  };
  for (int in_flight : {1, 7}) {
    BatchBackwardOptions o;
    o.max_samples_in_flight = in_flight;
    CHECK_THROWS_WITH_AS(batch_backward(p.inputs.size(), failing, p.params(), o), "sample 2 failed",
                         std::runtime_error);
    CHECK_FALSE(p.w1.has_grad());
    CHECK_FALSE(p.w2.has_grad());
  }
  CHECK_THROWS_WITH_AS(batch_backward(2, [&](size_t i) { return matmul(p.inputs[i], p.w1); }, p.params()),
                       doctest::Contains("batch_backward: sample 0's loss has shape [300, 48], expected one element"),
                       std::invalid_argument);
  CHECK(grad_enabled());
}

TEST_CASE("batch_backward: samples record even when the caller is in a no-grad scope") {
  Problem p;
  NoGradGuard no_grad;
  batch_backward(2, [&](size_t i) { return p.loss(i); }, p.params());
  CHECK(p.w1.has_grad());
  CHECK_FALSE(grad_enabled());
}
