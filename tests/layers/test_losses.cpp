// Losses: values against direct double loops, gradients by finite differences.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"
#include "core/tape.h"
#include "gradcheck.h"
#include "layers/losses.h"

using namespace lagrad;
using lagrad::testing::gradcheck;
using lagrad::testing::random_input;

namespace {

// target = pred + an offset of magnitude in [0.1, 1.6): no element sits on a kink (d = 0, or
// |d| = delta for the huber values used below except where intended).
Tensor offset_target(const Tensor& pred, std::uint64_t seed, bool requires_grad) {
  Rng rng(seed);
  Tensor t(pred.shape());
  for (Index i = 0; i < t.numel(); ++i) {
    const float mag = rng.uniform(0.1f, 1.6f);
    t.data()[i] = pred.data()[i] + (rng.uniform() < 0.5f ? -mag : mag);
  }
  t.set_requires_grad(requires_grad);
  return t;
}

double huber_ref(double d, double delta) {
  const double a = std::fabs(d);
  return a <= delta ? 0.5 * d * d : delta * (a - 0.5 * delta);
}

}  // namespace

TEST_CASE("mse, l1 and huber losses match their formulas") {
  Tensor p = Tensor::from_vector({2, 2}, {0.0f, 1.0f, -2.0f, 3.0f});
  Tensor t = Tensor::from_vector({2, 2}, {0.5f, -1.0f, 0.0f, 3.0f});
  // d = [-0.5, 2, -2, 0]
  CHECK(mse_loss(p, t).item() == doctest::Approx((0.25 + 4 + 4 + 0) / 4.0));
  CHECK(mse_loss(p, t, Reduction::Sum).item() == doctest::Approx(8.25));
  CHECK(l1_loss(p, t).item() == doctest::Approx(4.5 / 4.0));
  CHECK(huber_loss(p, t).item() == doctest::Approx((0.125 + 1.5 + 1.5 + 0) / 4.0));
  CHECK(huber_loss(p, t, 3.0f).item() == doctest::Approx((0.125 + 2 + 2 + 0) / 4.0));  // all quadratic
  CHECK(huber_loss(p, t, 0.25f, Reduction::Sum).item() ==
        doctest::Approx(huber_ref(-0.5, 0.25) + 2 * huber_ref(2, 0.25)));
}

TEST_CASE("pointwise loss gradients pass the finite-difference check (pred and target)") {
  Tensor pred = random_input({6, 4}, 11);
  Tensor target = offset_target(pred, 12, true);
  auto check = [&](const char* name, auto fn) {
    CAPTURE(name);
    auto r = gradcheck([fn](const std::vector<Tensor>& in) { return fn(in[0], in[1]); }, {pred, target});
    CHECK_MESSAGE(r.ok, r.message);
    CHECK(r.checked == 48);
  };
  check("mse", [](const Tensor& a, const Tensor& b) { return mse_loss(a, b); });
  check("mse sum", [](const Tensor& a, const Tensor& b) { return mse_loss(a, b, Reduction::Sum); });
  check("l1", [](const Tensor& a, const Tensor& b) { return l1_loss(a, b); });
  // delta 0.7: both the quadratic and the linear branch are exercised.
  check("huber", [](const Tensor& a, const Tensor& b) { return huber_loss(a, b, 0.7f); });
}

TEST_CASE("mse gradient is 2 d / n; a target without requires_grad gets none") {
  Tensor p = Tensor::from_vector({3}, {1.0f, 2.0f, 3.0f});
  p.set_requires_grad(true);
  Tensor t = Tensor::from_vector({3}, {0.0f, 2.0f, 5.0f});
  backward(mse_loss(p, t));
  CHECK(p.grad().to_vector()[0] == doctest::Approx(2.0 / 3.0));
  CHECK(p.grad().to_vector()[2] == doctest::Approx(-4.0 / 3.0));
  CHECK_FALSE(t.has_grad());
}

TEST_CASE("losses validate their inputs") {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({3, 2});
  CHECK_THROWS_WITH_AS(mse_loss(a, b), "mse_loss: target expected the shape of pred [2, 3], got [3, 2]",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(huber_loss(a, a, 0.0f), doctest::Contains("huber_loss: delta must be finite and > 0"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(l1_loss(Tensor::zeros({0}), Tensor::zeros({0})), "l1_loss: pred is empty, shape [0]",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(weighted_distance_loss(a, a, Tensor::zeros({3})),
                       "weighted_distance_loss: num_neighbors expected [N=2], got [3]", std::invalid_argument);
  CHECK_THROWS_WITH_AS(weighted_distance_loss(Tensor::zeros({6}), Tensor::zeros({6}), Tensor::zeros({6})),
                       "weighted_distance_loss: pred expected [N, D], got [6]", std::invalid_argument);
  CHECK_THROWS_WITH_AS(weighted_distance_loss(a, a, Tensor::zeros({2}), WeightedDistanceLossOptions().gamma(0.0f)),
                       doctest::Contains("gamma must be finite and > 0"), std::invalid_argument);
}

TEST_CASE("weighted_distance_loss matches DLF's formula") {
  const Index n = 50;
  Rng rng(5);
  Tensor p({n, 3}), g({n, 3}), nn({n});
  for (Index i = 0; i < n * 3; ++i) {
    p.data()[i] = rng.uniform(-1, 1);
    g.data()[i] = rng.uniform(-1, 1);
  }
  for (Index i = 0; i < n; ++i) nn.data()[i] = static_cast<float>(rng.below(80));
  p.data()[0] = g.data()[0], p.data()[1] = g.data()[1], p.data()[2] = g.data()[2];  // a zero distance
  auto reference = [&](double gamma, double scale) {
    double s = 0.0;
    for (Index i = 0; i < n; ++i) {
      double d2 = 0.0;
      for (Index k = 0; k < 3; ++k) d2 += std::pow(static_cast<double>(p.data()[i * 3 + k]) - g.data()[i * 3 + k], 2);
      s += std::exp(-nn.data()[i] / scale) * std::pow(d2 + 1e-9, gamma / 2);
    }
    return s / n;
  };
  CHECK(weighted_distance_loss(p, g, nn).item() == doctest::Approx(reference(0.5, 40.0)).epsilon(1e-6));
  CHECK(weighted_distance_loss(p, g, nn, WeightedDistanceLossOptions().gamma(1.0f).neighbor_scale(10.0f)).item() ==
        doctest::Approx(reference(1.0, 10.0)).epsilon(1e-6));
  // gamma = 2 and a huge scale: the mean squared distance, i.e. 3 * mse.
  CHECK(weighted_distance_loss(p, g, nn, WeightedDistanceLossOptions().gamma(2.0f).neighbor_scale(1e30f)).item() ==
        doctest::Approx(3.0 * mse_loss(p, g).item()).epsilon(1e-5));
}

TEST_CASE("weighted_distance_loss gradients pass the finite-difference check") {
  Tensor pred = random_input({8, 3}, 21);
  Tensor target = offset_target(pred, 22, true);
  Tensor nn({8});
  for (Index i = 0; i < 8; ++i) nn.data()[i] = static_cast<float>(7 * i);
  for (float gamma : {0.5f, 1.0f, 2.0f}) {
    CAPTURE(gamma);
    const auto opts = WeightedDistanceLossOptions().gamma(gamma);
    auto r = gradcheck(
        [opts](const std::vector<Tensor>& in) { return weighted_distance_loss(in[0], in[1], in[2], opts); },
        {pred, target, nn});
    CHECK_MESSAGE(r.ok, r.message);  // also fails if num_neighbors received a gradient
    CHECK(r.checked == 48);
  }
  // At zero distance the gradient is exactly zero (the 1e-9 keeps it finite).
  Tensor q = Tensor::zeros({1, 3});
  q.set_requires_grad(true);
  backward(weighted_distance_loss(q, Tensor::zeros({1, 3}), Tensor::zeros({1})));
  CHECK(q.grad().to_vector() == std::vector<float>{0.0f, 0.0f, 0.0f});
}

TEST_CASE("losses are bitwise independent of the thread count") {
  Tensor p = random_input({40000, 3}, 31);
  Tensor g = offset_target(p, 32, false);
  Tensor nn = Tensor::full({40000}, 12.0f);
  std::vector<float> values, grads;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    p.zero_grad();
    Tensor l = weighted_distance_loss(p, g, nn) + mse_loss(p, g) + huber_loss(p, g);
    values.push_back(l.item());
    backward(l);
    const auto gv = p.grad().to_vector();
    grads.insert(grads.end(), gv.begin(), gv.end());
  }
  set_num_threads(0);
  // Bit patterns, not float == (which equates -0.0 and 0.0 and fails on NaN).
  CHECK(std::memcmp(&values[0], &values[1], sizeof(float)) == 0);
  CHECK(std::memcmp(grads.data(), grads.data() + 120000, 120000 * sizeof(float)) == 0);
}
