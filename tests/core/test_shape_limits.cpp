// Shapes read from files can be anything: size products must fail cleanly, never wrap around.
#include <doctest/doctest.h>

#include "core/ops.h"
#include "core/shape.h"
#include "core/tensor.h"

using namespace lagrad;

TEST_CASE("shape_numel refuses products past int64 instead of wrapping") {
  const Index big = (Index{1} << 62) + 1;
  CHECK(shape_numel({3, 4}) == 12);
  CHECK(shape_numel({}) == 1);
  CHECK(shape_numel({0, big, big}) == 0);  // an empty tensor is fine whatever the other dims
  // (2^62 + 1) * 4 wraps to 4 in int64: it would pass a "4 values" check.
  CHECK_THROWS_WITH_AS(shape_numel({big, 4}), "shape [4611686018427387905, 4] has more than 2^63 elements",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(shape_numel({2, -3}), "shape [2, -3] has a negative dimension", std::invalid_argument);
  CHECK_THROWS_AS(Tensor({Index{1} << 32, Index{1} << 32}), std::invalid_argument);
  CHECK(checked_mul(6, 7, "x") == 42);
  CHECK_THROWS_WITH_AS(checked_mul(Index{1} << 62, 4, "storage"), "storage: size 4611686018427387904 * 4 overflows int64",
                       std::invalid_argument);
}

TEST_CASE("concat and slice_cols of empty tensors copy nothing (no memcpy from a null pointer)") {
  // UBSan flagged memcpy(dst, nullptr, 0) here: empty tensors own no storage.
  const Tensor a = Tensor::zeros({0, 3}), b = Tensor::ones({2, 3}), e = Tensor::zeros({2, 0});
  const Tensor rows = concat({a, b, a}, 0);
  CHECK(rows.shape() == Shape{2, 3});
  CHECK(rows.to_vector() == b.to_vector());
  const Tensor cols = concat({e, b, e}, 1);
  CHECK(cols.shape() == Shape{2, 3});
  CHECK(slice_cols(b, 1, 1).shape() == Shape{2, 0});
  CHECK(concat({a, a}, 0).numel() == 0);
}
