// segment_sum: values, empty segments, gradients, row_splits validation, a large case against
// a double-precision loop.
#include <doctest/doctest.h>

#include <algorithm>

#include "core/ops.h"
#include "core/tape.h"
#include "expect_grad_ok.h"

using namespace lagrad;
using lagrad::testing::expect_grad_ok;
using lagrad::testing::GradcheckOptions;
using lagrad::testing::random_input;

TEST_CASE("segment_sum: values, empty segments, rank 1 and 2") {
  const Tensor x = Tensor::from_vector({5, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  const Tensor s = segment_sum(x, {0, 2, 2, 5});
  CHECK(s.shape() == Shape({3, 2}));
  CHECK(s.to_vector() == std::vector<float>{4, 6, 0, 0, 21, 24});
  const Tensor v = Tensor::from_vector({4}, {1, 2, 3, 4});
  CHECK(segment_sum(v, {0, 1, 4}).to_vector() == std::vector<float>{1, 9});
  CHECK(segment_sum(Tensor::zeros({0, 3}), {0}).shape() == Shape({0, 3}));
}

TEST_CASE("segment_sum: gradients") {
  const Tensor x = random_input({7, 3}, 11);
  expect_grad_ok([](const std::vector<Tensor>& in) { return segment_sum(in[0], {0, 3, 3, 4, 7}); }, {x});
  const Tensor v = random_input({6}, 12);
  expect_grad_ok([](const std::vector<Tensor>& in) { return segment_sum(in[0], {0, 0, 2, 6}); }, {v});
}

TEST_CASE("segment_sum: row_splits validation names the position") {
  const Tensor x = Tensor::zeros({5, 2});
  CHECK_THROWS_WITH_AS(segment_sum(x, {}), doctest::Contains("segment_sum: row_splits must have at least 1 entry, got 0"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(segment_sum(x, {1, 5}), doctest::Contains("segment_sum: row_splits[0] must be 0, got 1"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(segment_sum(x, {0, 3, 2, 5}),
                       doctest::Contains("non-decreasing, got row_splits[2] = 2 < row_splits[1] = 3"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(segment_sum(x, {0, 2, 4}),
                       doctest::Contains("segment_sum: row_splits must end at x.dim(0) = 5, got row_splits[2] = 4"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(segment_sum(Tensor::scalar(1), {0}),
                       doctest::Contains("segment_sum: x expected rank 1 or 2, got shape []"), std::invalid_argument);
}

TEST_CASE("segment_sum: a large uneven case matches double loops, and its gradient") {
  const Index rows = 200000, width = 4;
  IndexVector splits = {0};
  Rng rng(13);
  while (splits.back() < rows) splits.push_back(std::min<Index>(rows, splits.back() + Index(rng.below(60))));
  const Tensor x = random_input({rows, width}, 14);
  const Tensor s = segment_sum(x, splits);
  const Index segs = static_cast<Index>(splits.size()) - 1;
  REQUIRE(s.shape() == Shape({segs, width}));
  for (Index k = 0; k < segs; k += 97)
    for (Index c = 0; c < width; ++c) {
      double ref = 0;
      for (Index r = splits[k]; r < splits[k + 1]; ++r) ref += x.data()[r * width + c];
      CHECK(s.at({k, c}) == doctest::Approx(ref).epsilon(1e-6));
    }
  const Tensor w = random_input({segs, width}, 15);
  backward(sum(mul(s, w)));
  for (Index k = 0; k < segs; k += 89)
    for (Index r = splits[k]; r < splits[k + 1]; ++r) CHECK(x.grad().at({r, 1}) == w.at({k, 1}));
}
