// reshape, concat, slice_cols, index_select: values, gradients, validation.
#include <doctest/doctest.h>

#include "core/ops.h"
#include "core/tape.h"
#include "expect_grad_ok.h"

using namespace lagrad;
using lagrad::testing::expect_grad_ok;
using lagrad::testing::GradcheckOptions;
using lagrad::testing::random_input;

TEST_CASE("reshape: values, -1 inference, own tape node, errors") {
  const Tensor x = random_input({4, 6}, 1);
  const Tensor y = reshape(x, {2, 3, 4});
  CHECK(y.shape() == Shape({2, 3, 4}));
  CHECK(y.to_vector() == x.to_vector());
  CHECK(reshape(x, {-1, 8}).shape() == Shape({3, 8}));
  CHECK(reshape(x, {24}).shape() == Shape({24}));
  expect_grad_ok([](const std::vector<Tensor>& in) { return mul(reshape(in[0], {3, 8}), reshape(in[0], {3, 8})); },
                 {x});
  // The output is a node of its own: x's gradient arrives through it in x's shape.
  backward(sum(reshape(x, {-1})));
  CHECK(x.grad().shape() == x.shape());
  CHECK_THROWS_WITH_AS(reshape(x, {5, 5}), doctest::Contains("reshape: cannot reshape [4, 6] (24 elements) to [5, 5]"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(reshape(x, {-1, 5}), doctest::Contains("reshape: cannot reshape [4, 6] (24 elements) to [-1, 5]"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(reshape(x, {-1, -1}), doctest::Contains("reshape: invalid target shape [-1, -1]"),
                       std::invalid_argument);
}

TEST_CASE("concat: values along both axes") {
  const Tensor a = Tensor::from_vector({2, 2}, {1, 2, 3, 4});
  const Tensor b = Tensor::from_vector({1, 2}, {5, 6});
  const Tensor c = Tensor::from_vector({2, 1}, {7, 8});
  CHECK(concat({a, b}, 0).shape() == Shape({3, 2}));
  CHECK(concat({a, b}, 0).to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(concat({a, c}, 1).to_vector() == std::vector<float>{1, 2, 7, 3, 4, 8});
  CHECK(concat({c, a, c}, -1).to_vector() == std::vector<float>{7, 1, 2, 7, 8, 3, 4, 8});
}

TEST_CASE("concat: gradients, including repeated and non-grad inputs") {
  const Tensor a = random_input({3, 2}, 2), b = random_input({3, 4}, 3), c = random_input({1, 2}, 4);
  expect_grad_ok([](const std::vector<Tensor>& in) { return concat({in[0], in[1], in[0]}, 1); }, {a, b});
  expect_grad_ok([](const std::vector<Tensor>& in) { return concat({in[0], in[1]}, 0); }, {a, c});
  b.set_requires_grad(false);
  expect_grad_ok([](const std::vector<Tensor>& in) { return concat({in[1], in[0]}, 1); }, {a, b});
}

TEST_CASE("concat: validation") {
  const Tensor a = Tensor::zeros({3, 2}), b = Tensor::zeros({4, 5});
  CHECK_THROWS_WITH_AS(concat({}, 0), doctest::Contains("concat: expected at least one tensor"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(concat({a, b}, 0), doctest::Contains("xs[0] is [3, 2], xs[1] is [4, 5]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(concat({a, b}, 1), doctest::Contains("dim(0)"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(concat({a, a}, 2), doctest::Contains("concat: axis must be 0 or 1"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(concat({a, Tensor::zeros({2})}, 0), doctest::Contains("concat: xs[1] expected rank 2, got shape [2]"),
                       std::invalid_argument);
}

TEST_CASE("slice_cols: values, gradients, errors") {
  const Tensor x = Tensor::from_vector({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(slice_cols(x, 1, 3).to_vector() == std::vector<float>{2, 3, 6, 7});
  CHECK(slice_cols(x, 2, 2).shape() == Shape({2, 0}));
  const Tensor y = random_input({5, 6}, 5);
  expect_grad_ok([](const std::vector<Tensor>& in) { return slice_cols(in[0], 2, 5); }, {y});
  expect_grad_ok(
      [](const std::vector<Tensor>& in) { return concat({slice_cols(in[0], 3, 6), slice_cols(in[0], 0, 3)}, 1); }, {y});
  CHECK_THROWS_WITH_AS(slice_cols(x, 3, 5),
                       doctest::Contains("slice_cols: expected 0 <= begin <= end <= 4 for x [2, 4], got begin=3, end=5"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(slice_cols(x, 2, 1), doctest::Contains("got begin=2, end=1"), std::invalid_argument);
}

TEST_CASE("index_select: values for rank 1 and 2") {
  const Tensor x = Tensor::from_vector({3, 2}, {1, 2, 3, 4, 5, 6});
  CHECK(index_select(x, {2, 0, 2}).to_vector() == std::vector<float>{5, 6, 1, 2, 5, 6});
  CHECK(index_select(x, {}).shape() == Shape({0, 2}));
  const Tensor v = Tensor::from_vector({4}, {10, 11, 12, 13});
  CHECK(index_select(v, {3, 3, 1}).to_vector() == std::vector<float>{13, 13, 11});
}

TEST_CASE("index_select: gradients with repeated rows, both backward paths") {
  const Tensor x = random_input({6, 3}, 6);
  expect_grad_ok([](const std::vector<Tensor>& in) { return index_select(in[0], {5, 0, 5, 2, 0, 5, 1}); }, {x});
  const Tensor v = random_input({5}, 7);
  expect_grad_ok([](const std::vector<Tensor>& in) { return index_select(in[0], {4, 4, 0, 3}); }, {v});
  // Large enough for the bucketed parallel scatter: compare with a serial double scatter.
  const Index rows = 1000, width = 8, n = 40000;
  const Tensor big = random_input({rows, width}, 8);
  IndexVector idx(n);
  Rng rng(9);
  for (auto& i : idx) i = static_cast<Index>(rng.below(rows));
  const Tensor w = random_input({n, width}, 10);
  backward(sum(mul(index_select(big, idx), w)));
  std::vector<double> ref(static_cast<size_t>(rows * width), 0.0);
  for (Index k = 0; k < n; ++k)
    for (Index c = 0; c < width; ++c) ref[idx[k] * width + c] += w.data()[k * width + c];
  for (Index i = 0; i < rows * width; ++i) CHECK(big.grad().data()[i] == doctest::Approx(ref[i]).epsilon(1e-5));
}

TEST_CASE("index_select: validation names the bad index and the range") {
  const Tensor x = Tensor::zeros({5, 2});
  CHECK_THROWS_WITH_AS(index_select(x, {0, 7}),
                       doctest::Contains("index_select: rows[1] = 7 out of range [0, 5) for x [5, 2]"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(index_select(x, {-1}), doctest::Contains("rows[0] = -1 out of range [0, 5)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(index_select(Tensor::zeros({2, 2, 2}), {0}),
                       doctest::Contains("index_select: x expected rank 1 or 2, got shape [2, 2, 2]"),
                       std::invalid_argument);
}

TEST_CASE("shape ops: empty pieces") {
  const Tensor a = Tensor::from_vector({2, 2}, {1, 2, 3, 4});
  CHECK(concat({a, Tensor::zeros({2, 0})}, 1).to_vector() == a.to_vector());
  CHECK(concat({Tensor::zeros({0, 2}), a}, 0).to_vector() == a.to_vector());
  CHECK(index_select(Tensor::zeros({0, 3}), {}).shape() == Shape({0, 3}));
  CHECK(reshape(Tensor::zeros({0, 3}), {3, 0}).shape() == Shape({3, 0}));
}
