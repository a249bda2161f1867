// matmul and linear: values against double-precision loops, gradients, shape errors.
#include <doctest/doctest.h>

#include "core/ops.h"
#include "core/tape.h"
#include "expect_grad_ok.h"

using namespace lagrad;
using lagrad::testing::expect_grad_ok;
using lagrad::testing::GradcheckOptions;
using lagrad::testing::random_input;

namespace {

// out[m, n] = sum_k a[m, k] * b(k, n) in double; b_at abstracts the layout.
template <class B>
std::vector<double> ref_product(const Tensor& a, Index N, B b_at) {
  const Index M = a.dim(0), K = a.dim(1);
  std::vector<double> out(static_cast<size_t>(M * N), 0.0);
  for (Index m = 0; m < M; ++m)
    for (Index n = 0; n < N; ++n)
      for (Index k = 0; k < K; ++k) out[m * N + n] += double(a.data()[m * K + k]) * b_at(k, n);
  return out;
}

}  // namespace

TEST_CASE("matmul: values") {
  const Tensor a = random_input({37, 19}, 1), b = random_input({19, 23}, 2);
  const Tensor c = matmul(a, b);
  REQUIRE(c.shape() == Shape({37, 23}));
  const auto ref = ref_product(a, 23, [&](Index k, Index n) { return double(b.data()[k * 23 + n]); });
  for (Index i = 0; i < c.numel(); ++i) CHECK(c.data()[i] == doctest::Approx(ref[i]).epsilon(1e-5));
}

TEST_CASE("matmul: gradients") {
  const Tensor a = random_input({5, 4}, 3), b = random_input({4, 6}, 4);
  expect_grad_ok([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {a, b});
  b.set_requires_grad(false);
  expect_grad_ok([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {a, b});
  b.set_requires_grad(true);
  a.set_requires_grad(false);
  expect_grad_ok([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {a, b});
}

TEST_CASE("matmul: shape errors") {
  CHECK_THROWS_WITH_AS(matmul(Tensor::zeros({3, 4}), Tensor::zeros({5, 2})),
                       doctest::Contains("matmul: cannot multiply a [3, 4] by b [5, 2]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(matmul(Tensor::zeros({4}), Tensor::zeros({4, 2})),
                       doctest::Contains("matmul: cannot multiply a [4] by b [4, 2]"), std::invalid_argument);
}

TEST_CASE("linear: values with and without bias") {
  const Tensor x = random_input({29, 13}, 5), w = random_input({7, 13}, 6), bias = random_input({7}, 7);
  const auto ref = ref_product(x, 7, [&](Index k, Index n) { return double(w.data()[n * 13 + k]); });
  const Tensor y0 = linear(x, w), y1 = linear(x, w, bias);
  REQUIRE(y1.shape() == Shape({29, 7}));
  for (Index m = 0; m < 29; ++m)
    for (Index n = 0; n < 7; ++n) {
      CHECK(y0.at({m, n}) == doctest::Approx(ref[m * 7 + n]).epsilon(1e-5));
      CHECK(y1.at({m, n}) == doctest::Approx(ref[m * 7 + n] + bias.data()[n]).epsilon(1e-5));
    }
}

TEST_CASE("linear: gradients for every input") {
  const Tensor x = random_input({6, 5}, 8), w = random_input({3, 5}, 9), b = random_input({3}, 10);
  expect_grad_ok([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }, {x, w, b},
                 GradcheckOptions().set_names({"x", "weight", "bias"}));
  expect_grad_ok([](const std::vector<Tensor>& in) { return linear(in[0], in[1]); }, {x, w});
  x.set_requires_grad(false);
  b.set_requires_grad(false);
  expect_grad_ok([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }, {x, w, b});
}

TEST_CASE("linear: bias gradient sums over many rows") {
  const Tensor x = random_input({50000, 2}, 11), w = random_input({3, 2}, 12), b = random_input({3}, 13);
  backward(sum(linear(x, w, b)));
  for (int n = 0; n < 3; ++n) CHECK(b.grad().data()[n] == 50000.0f);
  double col0 = 0;
  for (Index m = 0; m < 50000; ++m) col0 += x.data()[m * 2];
  CHECK(w.grad().at({1, 0}) == doctest::Approx(col0).epsilon(1e-4));
}

TEST_CASE("linear: shape errors") {
  CHECK_THROWS_WITH_AS(linear(Tensor::zeros({4, 3}), Tensor::zeros({2, 5})),
                       doctest::Contains("linear: weight expected [out, in=3] for x [4, 3], got [2, 5]"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(linear(Tensor::zeros({4, 3}), Tensor::zeros({2, 3}), Tensor::zeros({3})),
                       doctest::Contains("linear: bias expected [2] for weight [2, 3], got [3]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(linear(Tensor::zeros({3}), Tensor::zeros({2, 3})),
                       doctest::Contains("linear: x expected rank 2, got shape [3]"), std::invalid_argument);
}

TEST_CASE("matmul and linear: empty dimensions") {
  const Tensor a = Tensor::full({3, 0}, 1.0f), b = Tensor::full({0, 2}, 1.0f);
  CHECK(matmul(a, b).to_vector() == std::vector<float>(6, 0.0f));  // empty inner sum is 0
  const Tensor x = Tensor::zeros({0, 4}), w = Tensor::ones({2, 4}), bias = Tensor::ones({2});
  w.set_requires_grad(true);
  bias.set_requires_grad(true);
  const Tensor y = linear(x, w, bias);
  CHECK(y.shape() == Shape({0, 2}));
  backward(sum(y));
  CHECK(w.grad().to_vector() == std::vector<float>(8, 0.0f));
  CHECK(bias.grad().to_vector() == std::vector<float>{0.0f, 0.0f});
}
