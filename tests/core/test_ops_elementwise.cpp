// Elementwise ops: values against direct loops, every broadcast variant, error messages,
// gradients (finite differences) and the kink conventions.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "core/ops.h"
#include "core/tape.h"
#include "expect_grad_ok.h"

using namespace lagrad;
using lagrad::testing::expect_grad_ok;
using lagrad::testing::GradcheckOptions;
using lagrad::testing::random_input;

namespace {

// Reference broadcast value of t at output element (row, col) of an [N, C] result.
float bval(const Tensor& t, Index row, Index col, Index cols) {
  if (t.numel() == 1) return t.data()[0];
  if (t.rank() == 1) return t.data()[col];
  return t.data()[row * cols + col];
}

struct BinaryCase {
  const char* name;
  Tensor (*op)(const Tensor&, const Tensor&);
  std::function<float(float, float)> ref;
};

const BinaryCase kBinary[] = {
    {"add", static_cast<Tensor (*)(const Tensor&, const Tensor&)>(&add), [](float x, float y) { return x + y; }},
    {"sub", &sub, [](float x, float y) { return x - y; }},
    {"mul", static_cast<Tensor (*)(const Tensor&, const Tensor&)>(&mul), [](float x, float y) { return x * y; }},
    {"div", &div, [](float x, float y) { return x / y; }},
};

// Every supported broadcast pair, as (shape a, shape b) producing [4, 3].
const std::pair<Shape, Shape> kPairs[] = {
    {{4, 3}, {4, 3}},  // equal
    {{}, {4, 3}},      // rank-0 scalar a
    {{4, 3}, {}},      // rank-0 scalar b
    {{1}, {4, 3}},     // one-element a
    {{4, 3}, {1, 1}},  // one-element b
    {{3}, {4, 3}},     // row vector a
    {{4, 3}, {3}},     // row vector b
};

// Values away from 0 so that div is well conditioned: |v| in [0.5, 1.5].
Tensor nonzero_input(const Shape& s, std::uint64_t seed) {
  Tensor t = random_input(s, seed, 0.5f, 1.5f);
  Rng rng(seed + 100);
  for (Index i = 0; i < t.numel(); ++i)
    if (rng.uniform() < 0.5f) t.data()[i] = -t.data()[i];
  return t;
}

}  // namespace

TEST_CASE("binary ops: values for every broadcast variant") {
  for (const auto& c : kBinary)
    for (const auto& [sa, sb] : kPairs) {
      CAPTURE(c.name);
      CAPTURE(shape_str(sa));
      CAPTURE(shape_str(sb));
      const Tensor a = nonzero_input(sa, 1), b = nonzero_input(sb, 2);
      const Tensor out = c.op(a, b);
      REQUIRE(out.shape() == Shape({4, 3}));
      for (Index r = 0; r < 4; ++r)
        for (Index k = 0; k < 3; ++k)
          CHECK(out.at({r, k}) == doctest::Approx(c.ref(bval(a, r, k, 3), bval(b, r, k, 3))).epsilon(1e-6));
    }
}

TEST_CASE("binary ops: gradients for every broadcast variant") {
  for (const auto& c : kBinary)
    for (const auto& [sa, sb] : kPairs) {
      CAPTURE(c.name);
      CAPTURE(shape_str(sa));
      CAPTURE(shape_str(sb));
      const Tensor a = nonzero_input(sa, 3), b = nonzero_input(sb, 4);
      expect_grad_ok([&](const std::vector<Tensor>& in) { return c.op(in[0], in[1]); }, {a, b});
      // Only one side requiring a gradient: the other must stay untouched (gradcheck checks).
      b.set_requires_grad(false);
      expect_grad_ok([&](const std::vector<Tensor>& in) { return c.op(in[0], in[1]); }, {a, b});
      b.set_requires_grad(true);
      a.set_requires_grad(false);
      expect_grad_ok([&](const std::vector<Tensor>& in) { return c.op(in[0], in[1]); }, {a, b});
    }
}

TEST_CASE("binary ops: large broadcast gradients reduce over many rows") {
  // Enough rows to take the chunked reduction path of the row and scalar gradients.
  const Tensor a = random_input({70000, 3}, 5), b = random_input({3}, 6), s = random_input({}, 7);
  Tensor out = add(mul(a, b), s);
  backward(sum(out));
  double ref_b[3] = {0, 0, 0};
  for (Index r = 0; r < 70000; ++r)
    for (int k = 0; k < 3; ++k) ref_b[k] += a.data()[r * 3 + k];
  for (int k = 0; k < 3; ++k) CHECK(b.grad().data()[k] == doctest::Approx(ref_b[k]).epsilon(1e-5));
  CHECK(s.grad().item() == doctest::Approx(210000.0).epsilon(1e-7));
}

TEST_CASE("binary ops: broadcast errors name the op and both shapes") {
  const Tensor a = Tensor::zeros({3, 4}), b = Tensor::zeros({5});
  CHECK_THROWS_WITH_AS(add(a, b), doctest::Contains("add: cannot broadcast [3, 4] with [5]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(sub(b, a), doctest::Contains("sub: cannot broadcast [5] with [3, 4]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(mul(a, Tensor::zeros({4, 3})), doctest::Contains("mul: cannot broadcast [3, 4] with [4, 3]"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(div(Tensor::zeros({2, 3, 4}), Tensor::zeros({4})),
                       doctest::Contains("div: cannot broadcast [2, 3, 4] with [4]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(add(a, Tensor()), doctest::Contains("add: b is undefined"), std::invalid_argument);
}

TEST_CASE("operators map to the ops") {
  const Tensor a = Tensor::from_vector({2}, {1.0f, 2.0f}), b = Tensor::from_vector({2}, {4.0f, 8.0f});
  CHECK((a + b).to_vector() == std::vector<float>{5, 10});
  CHECK((a - b).to_vector() == std::vector<float>{-3, -6});
  CHECK((a * b).to_vector() == std::vector<float>{4, 16});
  CHECK((a / b).to_vector() == std::vector<float>{0.25f, 0.25f});
  CHECK((-a).to_vector() == std::vector<float>{-1, -2});
  CHECK((a + 1.0f).to_vector() == std::vector<float>{2, 3});
  CHECK((a * 3.0f).to_vector() == std::vector<float>{3, 6});
  CHECK((3.0f * a).to_vector() == std::vector<float>{3, 6});
}

TEST_CASE("ops with a constant: values and gradients") {
  const Tensor x = random_input({5, 2}, 8);
  const Tensor y = add(x, 2.5f), z = mul(x, -1.5f);
  for (Index i = 0; i < 10; ++i) {
    CHECK(y.data()[i] == x.data()[i] + 2.5f);
    CHECK(z.data()[i] == x.data()[i] * -1.5f);
  }
  expect_grad_ok([](const std::vector<Tensor>& in) { return add(in[0], 2.5f); }, {x});
  expect_grad_ok([](const std::vector<Tensor>& in) { return mul(in[0], -1.5f); }, {x});
}

TEST_CASE("unary ops: values") {
  const Tensor x = Tensor::from_vector({5}, {-2.0f, -0.5f, 0.0f, 0.5f, 3.0f});
  const Tensor p = Tensor::from_vector({3}, {0.25f, 1.0f, 4.0f});
  CHECK(neg(x).to_vector() == std::vector<float>{2.0f, 0.5f, -0.0f, -0.5f, -3.0f});
  CHECK(abs(x).to_vector() == std::vector<float>{2.0f, 0.5f, 0.0f, 0.5f, 3.0f});
  CHECK(square(x).to_vector() == std::vector<float>{4.0f, 0.25f, 0.0f, 0.25f, 9.0f});
  CHECK(clamp(x, -1.0f, 1.0f).to_vector() == std::vector<float>{-1.0f, -0.5f, 0.0f, 0.5f, 1.0f});
  CHECK(sqrt(p).to_vector() == std::vector<float>{0.5f, 1.0f, 2.0f});
  CHECK(pow(p, 0.5f).to_vector() == std::vector<float>{0.5f, 1.0f, 2.0f});
  CHECK(pow(p, 2.0f).to_vector() == std::vector<float>{0.0625f, 1.0f, 16.0f});
  CHECK(pow(p, 0.0f).to_vector() == std::vector<float>{1.0f, 1.0f, 1.0f});
  for (Index i = 0; i < 5; ++i) CHECK(exp(x).data()[i] == doctest::Approx(std::exp(x.data()[i])));
  for (Index i = 0; i < 3; ++i) CHECK(log(p).data()[i] == doctest::Approx(std::log(p.data()[i])));
}

TEST_CASE("unary ops: gradients") {
  using F = std::function<Tensor(const Tensor&)>;
  const std::pair<const char*, F> smooth[] = {
      {"neg", [](const Tensor& t) { return neg(t); }},
      {"exp", [](const Tensor& t) { return exp(t); }},
      {"square", [](const Tensor& t) { return square(t); }},
      {"pow 2", [](const Tensor& t) { return pow(t, 2.0f); }},
      {"pow 3", [](const Tensor& t) { return pow(t, 3.0f); }},
      {"pow 0", [](const Tensor& t) { return pow(t, 0.0f); }},
  };
  for (const auto& [name, f] : smooth) {
    CAPTURE(name);
    expect_grad_ok([&](const std::vector<Tensor>& in) { return f(in[0]); }, {random_input({4, 3}, 9)});
  }
  // Positive domain only.
  const std::pair<const char*, F> positive[] = {
      {"log", [](const Tensor& t) { return log(t); }},
      {"sqrt", [](const Tensor& t) { return sqrt(t); }},
      {"pow 0.5", [](const Tensor& t) { return pow(t, 0.5f); }},
      {"pow -1.5", [](const Tensor& t) { return pow(t, -1.5f); }},
  };
  for (const auto& [name, f] : positive) {
    CAPTURE(name);
    expect_grad_ok([&](const std::vector<Tensor>& in) { return f(in[0]); }, {random_input({4, 3}, 10, 0.5f, 2.0f)});
  }
}

TEST_CASE("abs and clamp: gradients on both sides of every kink") {
  const Tensor x = random_input({6, 5}, 11, -2.0f, 2.0f);
  expect_grad_ok([](const std::vector<Tensor>& in) { return abs(in[0]); }, {x},
                 GradcheckOptions().set_kinks({0.0f}));
  // [-2, 2] covers values below lo, inside and above hi.
  const Tensor y = random_input({8, 5}, 12, -2.0f, 2.0f);
  int below = 0, above = 0;
  for (Index i = 0; i < y.numel(); ++i) {
    below += y.data()[i] < -0.7f;
    above += y.data()[i] > 0.9f;
  }
  REQUIRE(below > 0);
  REQUIRE(above > 0);
  expect_grad_ok([](const std::vector<Tensor>& in) { return clamp(in[0], -0.7f, 0.9f); }, {y},
                 GradcheckOptions().set_kinks({-0.7f, 0.9f}));
}

TEST_CASE("kink conventions follow PyTorch: abs'(0) = 0, clamp' = 1 on the closed interval") {
  const Tensor x = Tensor::from_vector({5}, {0.0f, -1.0f, 1.0f, 2.0f, 0.5f});
  x.set_requires_grad(true);
  backward(sum(abs(x)));
  CHECK(x.grad().to_vector() == std::vector<float>{0.0f, -1.0f, 1.0f, 1.0f, 1.0f});
  x.zero_grad();
  backward(sum(clamp(x, -1.0f, 1.0f)));  // -1 and 1 are on the boundary: gradient 1
  CHECK(x.grad().to_vector() == std::vector<float>{1.0f, 1.0f, 1.0f, 0.0f, 1.0f});
  CHECK_THROWS_WITH_AS(clamp(x, 1.0f, -1.0f), doctest::Contains("clamp: expected lo <= hi"), std::invalid_argument);
}

TEST_CASE("unary ops on an undefined tensor name the op") {
  CHECK_THROWS_WITH_AS(exp(Tensor()), doctest::Contains("exp: x is undefined"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(square(Tensor()), doctest::Contains("square: x is undefined"), std::invalid_argument);
}

TEST_CASE("binary ops: gradients accumulate when an input feeds several ops or both sides") {
  // Every broadcast gradient path (same, row, scalar) receives two contributions: a backward
  // that overwrote instead of adding would fail.
  const Tensor m = nonzero_input({5, 3}, 13), r = nonzero_input({3}, 14), s = nonzero_input({}, 15);
  expect_grad_ok(
      [](const std::vector<Tensor>& in) {
        const Tensor& a = in[0];
        const Tensor& b = in[1];
        const Tensor& c = in[2];
        // One statement per op: the recording order (hence the backward order) is fixed.
        const Tensor t1 = sub(a, b);   // b: row reduction
        const Tensor t2 = mul(a, b);   // b: row reduction again
        const Tensor t3 = mul(b, c);   // b: elementwise, c: scalar reduction
        const Tensor t4 = div(c, b);   // c: scalar reduction again
        const Tensor t5 = mul(a, a);   // a: both sides
        const Tensor t6 = add(t5, t1);
        const Tensor t7 = add(t6, t2);
        const Tensor t8 = add(t3, t4);
        return div(t7, t8);
      },
      {m, r, s});
  for (const auto& c : kBinary) {
    CAPTURE(c.name);
    expect_grad_ok([&](const std::vector<Tensor>& in) { return c.op(in[0], in[0]); }, {m});
  }
}
