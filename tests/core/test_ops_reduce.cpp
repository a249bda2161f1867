// sum and mean: values against double loops (both kernel paths), every axis, gradients, errors.
#include <doctest/doctest.h>

#include "core/ops.h"
#include "core/tape.h"
#include "expect_grad_ok.h"

using namespace lagrad;
using lagrad::testing::expect_grad_ok;
using lagrad::testing::GradcheckOptions;
using lagrad::testing::random_input;

namespace {

// Reference sum over `axis` of a rank-3 [A, B, C] tensor, in double.
std::vector<double> ref_sum_axis(const Tensor& x, int axis) {
  const Shape& s = x.shape();
  Shape out_shape;
  for (int i = 0; i < 3; ++i)
    if (i != axis) out_shape.push_back(s[i]);
  std::vector<double> out(static_cast<size_t>(shape_numel(out_shape)), 0.0);
  for (Index a = 0; a < s[0]; ++a)
    for (Index b = 0; b < s[1]; ++b)
      for (Index c = 0; c < s[2]; ++c) {
        const Index idx[3] = {a, b, c};
        Index o = 0;
        for (int i = 0; i < 3; ++i)
          if (i != axis) o = o * s[i] + idx[i];
        out[o] += x.data()[(a * s[1] + b) * s[2] + c];
      }
  return out;
}

}  // namespace

TEST_CASE("sum and mean of everything") {
  const Tensor x = random_input({123, 45}, 1);
  double ref = 0;
  for (float v : x.to_vector()) ref += v;
  const Tensor s = sum(x), m = mean(x);
  CHECK(s.rank() == 0);
  CHECK(m.rank() == 0);
  CHECK(s.item() == doctest::Approx(ref).epsilon(1e-6));
  CHECK(m.item() == doctest::Approx(ref / x.numel()).epsilon(1e-6));
  CHECK(sum(Tensor::zeros({0, 3})).item() == 0.0f);
}

TEST_CASE("sum and mean over an axis: values, every axis, negative axes") {
  const Tensor x = random_input({4, 5, 6}, 2);
  for (int axis = 0; axis < 3; ++axis) {
    CAPTURE(axis);
    const auto ref = ref_sum_axis(x, axis);
    const Tensor s = sum(x, axis), sn = sum(x, axis - 3), m = mean(x, axis);
    REQUIRE(s.rank() == 2);
    CHECK(s.to_vector() == sn.to_vector());
    for (size_t i = 0; i < ref.size(); ++i) {
      CHECK(s.data()[i] == doctest::Approx(ref[i]).epsilon(1e-6));
      CHECK(m.data()[i] == doctest::Approx(ref[i] / x.dim(axis)).epsilon(1e-6));
    }
  }
  const Tensor v = Tensor::from_vector({3}, {1, 2, 3});
  CHECK(sum(v, 0).rank() == 0);
  CHECK(sum(v, 0).item() == 6.0f);
  CHECK(mean(v, -1).item() == 2.0f);
}

TEST_CASE("axis sums over a long axis (chunked path) match double loops") {
  // [70000, 3] over axis 0: few outputs, long axis; [3, 70000] over axis 1 the same transposed.
  const Tensor a = random_input({70000, 3}, 3), b = random_input({3, 70000}, 4);
  const Tensor sa = sum(a, 0), sb = mean(b, 1);
  for (Index c = 0; c < 3; ++c) {
    double ra = 0, rb = 0;
    for (Index r = 0; r < 70000; ++r) {
      ra += a.data()[r * 3 + c];
      rb += b.data()[c * 70000 + r];
    }
    CHECK(sa.data()[c] == doctest::Approx(ra).epsilon(1e-6));
    CHECK(sb.data()[c] == doctest::Approx(rb / 70000).epsilon(1e-6));
  }
}

TEST_CASE("reductions: gradients") {
  const Tensor x = random_input({3, 4, 5}, 5);
  expect_grad_ok([](const std::vector<Tensor>& in) { return sum(in[0]); }, {x});
  expect_grad_ok([](const std::vector<Tensor>& in) { return mean(in[0]); }, {x});
  for (int axis = -3; axis < 3; ++axis) {
    CAPTURE(axis);
    expect_grad_ok([axis](const std::vector<Tensor>& in) { return sum(in[0], axis); }, {x});
    expect_grad_ok([axis](const std::vector<Tensor>& in) { return mean(in[0], axis); }, {x});
  }
  const Tensor v = random_input({7}, 6);
  expect_grad_ok([](const std::vector<Tensor>& in) { return mean(in[0], 0); }, {v});
}

TEST_CASE("reductions: axis errors") {
  const Tensor x = Tensor::zeros({3, 4});
  CHECK_THROWS_WITH_AS(sum(x, 2), doctest::Contains("sum: axis 2 out of range for shape [3, 4]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(mean(x, -3), doctest::Contains("mean: axis -3 out of range for shape [3, 4]"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(sum(Tensor()), doctest::Contains("sum: x is undefined"), std::invalid_argument);
}
