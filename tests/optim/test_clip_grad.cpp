// Gradient clipping by global norm.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "core/parallel.h"
#include "optim/clip_grad.h"

using namespace lagrad;

namespace {
Tensor with_grad(std::vector<float> grad) {
  Tensor t({static_cast<Index>(grad.size())});
  t.set_requires_grad(true);
  t.accumulate_grad(Tensor::from_vector(t.shape(), std::move(grad)));
  return t;
}
}  // namespace

TEST_CASE("clip_grad_norm scales all gradients by max_norm / norm and returns the pre-clip norm") {
  Tensor a = with_grad({3.0f, 0.0f}), b = with_grad({4.0f});
  Tensor none({2});  // no gradient: skipped
  none.set_requires_grad(true);
  const float norm = clip_grad_norm(std::vector<Tensor>{a, b, none}, 1.0f);
  CHECK(norm == doctest::Approx(5.0));
  const double s = 1.0 / (5.0 + 1e-6);
  CHECK(a.grad().data()[0] == doctest::Approx(3.0 * s));
  CHECK(b.grad().data()[0] == doctest::Approx(4.0 * s));
  CHECK(grad_norm({a, b}) == doctest::Approx(1.0).epsilon(1e-5));
  CHECK_FALSE(none.has_grad());
}

TEST_CASE("clip_grad_norm leaves small gradients alone") {
  Tensor a = with_grad({0.3f, 0.4f});
  CHECK(clip_grad_norm(NamedTensors{{"a", a}}, 1.0f) == doctest::Approx(0.5));
  CHECK(a.grad().to_vector() == std::vector<float>{0.3f, 0.4f});
}

TEST_CASE("clip_grad_norm: non-finite norm is reported, gradients untouched; bad max_norm throws") {
  Tensor a = with_grad({std::numeric_limits<float>::infinity(), 1.0f});
  CHECK(std::isinf(clip_grad_norm(std::vector<Tensor>{a}, 1.0f)));
  CHECK(a.grad().data()[1] == 1.0f);
  CHECK_THROWS_WITH_AS(clip_grad_norm(std::vector<Tensor>{a}, 0.0f),
                       doctest::Contains("clip_grad_norm: max_norm must be finite and > 0"), std::invalid_argument);
}

TEST_CASE("clip_grad_norm is bitwise independent of the thread count") {
  const Index n = 200001;
  std::vector<float> g(n);
  for (Index i = 0; i < n; ++i) g[i] = std::sin(0.37f * static_cast<float>(i));
  std::vector<float> norms;
  std::vector<std::vector<float>> grads;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Tensor a = with_grad(g);
    norms.push_back(clip_grad_norm(std::vector<Tensor>{a}, 1.0f));
    grads.push_back(a.grad().to_vector());
  }
  set_num_threads(0);
  CHECK(norms[0] == norms[1]);
  CHECK(grads[0] == grads[1]);
  CHECK(norms[0] == doctest::Approx(std::sqrt(n / 2.0)).epsilon(0.01));
}
