// Results must be bitwise independent of the thread count: a computation mixing large sums,
// per-axis and broadcast reductions, GEMMs, segment_sum and index_select's scatter-add backward
// gives the same bits with 1, 2 and 4 threads.
#include <doctest/doctest.h>

#include <algorithm>

#include "core/ops.h"
#include "core/parallel.h"
#include "core/tape.h"
#include "gradcheck.h"

using namespace lagrad;
using lagrad::testing::random_input;

namespace {

// Values and gradients of the computation, in a fixed order.
std::vector<std::vector<float>> run_model() {
  const Index n = 60000, c = 16;
  const Tensor x = random_input({n, c}, 1);
  const Tensor w = random_input({32, c}, 2), b = random_input({32}, 3);
  const Tensor row = random_input({32}, 4), w2 = random_input({32, c}, 5);
  const Tensor big = random_input({1 << 20}, 6);
  IndexVector gather(static_cast<size_t>(3 * n));
  Rng rng(7);
  for (auto& i : gather) i = static_cast<Index>(rng.below(static_cast<std::uint64_t>(n)));
  IndexVector splits = {0};
  while (splits.back() < 3 * n) splits.push_back(std::min<Index>(3 * n, splits.back() + 1 + Index(rng.below(40))));

  const Tensor h = relu(linear(x, w, b));              // [n, 32]
  const Tensor g = index_select(mul(h, row), gather);  // [3n, 32]: scatter-add backward
  const Tensor s = segment_sum(g, splits);             // [segments, 32]
  const Tensor m = matmul(s, w2);                      // [segments, c]
  const Tensor col = sum(m, 0);                        // long-axis reduction
  const Tensor loss = add(add(mean(square(m)), sum(mean(h, 0))), mul(sum(square(big)), 1e-6f));
  const Tensor total = add(loss, mul(sum(col), 1e-3f));
  backward(total);
  // Cancelling magnitudes make any change of summation order visible even after the double
  // partial sums are rounded to float: (1e20 + 1 + ... + 1) - 1e20 depends on where the ones
  // are grouped.
  const Index len = 1 << 20;
  Tensor cancel = Tensor::ones({len, 3});
  for (Index c = 0; c < 3; ++c) {
    cancel.data()[c] = 1e20f;
    cancel.data()[(len - 1) * 3 + c] = -1e20f;
  }
  const Tensor cancel_all = sum(cancel), cancel_cols = sum(cancel, 0);
  return {cancel_all.to_vector(), cancel_cols.to_vector(), total.to_vector(), col.to_vector(), x.grad().to_vector(), w.grad().to_vector(), b.grad().to_vector(),
          row.grad().to_vector(), w2.grad().to_vector(), big.grad().to_vector()};
}

}  // namespace

TEST_CASE("determinism: values and gradients are bitwise equal for 1, 2 and 4 threads") {
  set_num_threads(1);
  const auto one = run_model();
  set_num_threads(2);
  const auto two = run_model();
  set_num_threads(4);
  const auto four = run_model();
  set_num_threads(0);
  REQUIRE(one.size() == two.size());
  for (size_t i = 0; i < one.size(); ++i) {
    CAPTURE(i);
    // operator== on float vectors compares values; equal bits is the claim, and no NaN occurs.
    CHECK(one[i] == two[i]);
    CHECK(one[i] == four[i]);
  }
  CHECK(num_threads() >= 1);
}
