// The gradient checker must fail on wrong backward passes. Each deliberately broken op below
// has a correct twin, which must pass under the same options.
#include <doctest/doctest.h>

#include "core/ops.h"
#include "core/tape.h"
#include "gradcheck.h"

using namespace lagrad;
using lagrad::testing::gradcheck;
using lagrad::testing::GradcheckOptions;
using lagrad::testing::KinkPolicy;
using lagrad::testing::random_input;

namespace {

// y = x^2 with backward factor * 2x (factor 1 is correct).
Tensor square_with_factor(const Tensor& x, float factor) {
  Tensor out = Tensor::from_data(x.shape(), x.data());
  for (Index i = 0; i < out.numel(); ++i) out.data()[i] *= x.data()[i];
  if (should_record({&x})) {
    record_op(out, {&x}, [x, factor](const Tensor& out) {
      Tensor g(x.shape());
      for (Index i = 0; i < x.numel(); ++i) g.data()[i] = factor * 2.0f * x.data()[i] * out.grad().data()[i];
      x.accumulate_grad(g);
    });
  }
  return out;
}

// out[k] = x[rows[k]] (rank 2). With `swap`, the backward sends row k's gradient to the source
// row of its neighbour k ^ 1: a swapped index.
Tensor gather_rows(const Tensor& x, const IndexVector& rows, bool swap) {
  const Index n = static_cast<Index>(rows.size()), w = x.dim(1);
  Tensor out({n, w});
  for (Index k = 0; k < n; ++k)
    for (Index c = 0; c < w; ++c) out.data()[k * w + c] = x.data()[rows[k] * w + c];
  if (should_record({&x})) {
    record_op(out, {&x}, [x, rows, swap, n, w](const Tensor& out) {
      Tensor g(x.shape());
      for (Index k = 0; k < n; ++k) {
        const Index src = swap ? rows[(k ^ 1) < n ? (k ^ 1) : k] : rows[k];
        for (Index c = 0; c < w; ++c) g.data()[src * w + c] += out.grad().data()[k * w + c];
      }
      x.accumulate_grad(g);
    });
  }
  return out;
}

// a * b where the backward forgets b's gradient.
Tensor mul_forgetting_b(const Tensor& a, const Tensor& b) {
  Tensor out = mul(a.detach(), b.detach());
  if (should_record({&a, &b})) {
    record_op(out, {&a, &b}, [a, b](const Tensor& out) {
      if (a.requires_grad()) a.accumulate_grad(mul(out.grad().detach(), b.detach()));
    });
  }
  return out;
}

// x * 3, whose backward also writes into `bystander`, which requires no gradient.
Tensor scale_touching(const Tensor& x, const Tensor& bystander) {
  Tensor out = mul(x.detach(), 3.0f);
  if (should_record({&x})) {
    record_op(out, {&x}, [x, bystander](const Tensor& out) {
      x.accumulate_grad(mul(out.grad().detach(), 3.0f));
      bystander.accumulate_grad(Tensor::zeros(bystander.shape()));
    });
  }
  return out;
}

}  // namespace

TEST_CASE("gradcheck: a correct op passes, a factor-2 backward fails") {
  const Tensor x = random_input({4, 5}, 1).set_name("x");
  const auto good = gradcheck([](const std::vector<Tensor>& in) { return square_with_factor(in[0], 1.0f); }, {x});
  CHECK_MESSAGE(good.ok, good.message);
  const auto bad = gradcheck([](const std::vector<Tensor>& in) { return square_with_factor(in[0], 2.0f); }, {x});
  CHECK_FALSE(bad.ok);
  CHECK(bad.failed > 0);
  CHECK(bad.worst_input == "x");
  CHECK(bad.worst_index >= 0);
  CHECK(bad.worst_analytic == doctest::Approx(2.0 * bad.worst_numeric).epsilon(1e-2));
  CHECK(bad.message.find("FAILED") != std::string::npos);
  CHECK(bad.message.find("x[") != std::string::npos);
  // A 5% error is caught too: the tolerance is tight.
  const auto slight = gradcheck([](const std::vector<Tensor>& in) { return square_with_factor(in[0], 1.05f); }, {x});
  CHECK_FALSE(slight.ok);
}

TEST_CASE("gradcheck: a swapped index in a gather's backward fails") {
  const Tensor x = random_input({5, 3}, 2);
  const IndexVector rows = {4, 1, 1, 3, 0, 2};
  const auto good = gradcheck([&](const std::vector<Tensor>& in) { return gather_rows(in[0], rows, false); }, {x},
                              GradcheckOptions().set_names({"table"}));
  CHECK_MESSAGE(good.ok, good.message);
  const auto bad = gradcheck([&](const std::vector<Tensor>& in) { return gather_rows(in[0], rows, true); }, {x},
                             GradcheckOptions().set_names({"table"}));
  CHECK_FALSE(bad.ok);
  CHECK(bad.worst_input == "table");
  CHECK(bad.failed >= 3);
}

TEST_CASE("gradcheck: a missing gradient and a gradient to a non-grad input fail") {
  const Tensor a = random_input({3}, 3), b = random_input({3}, 4);
  const auto missing = gradcheck([](const std::vector<Tensor>& in) { return mul_forgetting_b(in[0], in[1]); }, {a, b});
  CHECK_FALSE(missing.ok);
  CHECK(missing.worst_input == "input 1");
  b.set_requires_grad(false);  // now nothing is owed to b: passes
  const auto fine = gradcheck([](const std::vector<Tensor>& in) { return mul_forgetting_b(in[0], in[1]); }, {a, b});
  CHECK_MESSAGE(fine.ok, fine.message);
  const auto touched = gradcheck([](const std::vector<Tensor>& in) { return scale_touching(in[0], in[1]); }, {a, b});
  CHECK_FALSE(touched.ok);
  CHECK(touched.message.find("received a gradient but does not require one") != std::string::npos);
}

TEST_CASE("gradcheck: an output that needs no gradient is reported, not thrown") {
  const Tensor x = random_input({2}, 5);
  x.set_requires_grad(false);
  const auto r = gradcheck([](const std::vector<Tensor>& in) { return exp(in[0]); }, {x});
  CHECK_FALSE(r.ok);
  CHECK(r.message.find("does not require a gradient") != std::string::npos);
}

TEST_CASE("gradcheck: kinks are perturbed away or skipped") {
  // relu at exactly 0: the central difference gives 0.5, relu'(0) = 0 by convention.
  auto f = [](const std::vector<Tensor>& in) { return relu(in[0]); };
  const Tensor x = Tensor::from_vector({4}, {0.0f, 0.5f, -0.5f, 0.0f});
  x.set_requires_grad(true);
  CHECK_FALSE(gradcheck(f, {x}).ok);
  const auto skipped = gradcheck(f, {x}, GradcheckOptions().set_kinks({0.0f}).set_kink_policy(KinkPolicy::kSkip));
  CHECK_MESSAGE(skipped.ok, skipped.message);
  CHECK(skipped.skipped == 2);
  CHECK(skipped.checked == 2);
  const auto moved = gradcheck(f, {x}, GradcheckOptions().set_kinks({0.0f}));
  CHECK_MESSAGE(moved.ok, moved.message);
  CHECK(moved.checked == 4);
  CHECK(x.data()[0] != 0.0f);  // the perturbation is written into the input
}
