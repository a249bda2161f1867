// Adam / AdamW against a double-precision reference written from PyTorch's formulas.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "optim/adam.h"

using namespace lagrad;

namespace {

// torch.optim.Adam / AdamW for one parameter vector, in double. grads[s] is the raw gradient
// of step s (the L2 term is added here for Adam).
struct RefAdam {
  double lr, b1, b2, eps, wd;
  bool amsgrad, decoupled;
  std::vector<double> p, m, v, vmax;
  int t = 0;
  RefAdam(std::vector<double> p0, double lr, double b1, double b2, double eps, double wd, bool ams, bool dec)
      : lr(lr), b1(b1), b2(b2), eps(eps), wd(wd), amsgrad(ams), decoupled(dec), p(std::move(p0)) {
    m.assign(p.size(), 0.0);
    v.assign(p.size(), 0.0);
    vmax.assign(p.size(), 0.0);
  }
  void step(const std::vector<double>& grad) {
    ++t;
    const double bc1 = 1.0 - std::pow(b1, t), bc2 = 1.0 - std::pow(b2, t);
    for (size_t i = 0; i < p.size(); ++i) {
      double g = grad[i];
      if (decoupled) p[i] *= 1.0 - lr * wd;
      else g += wd * p[i];
      m[i] = b1 * m[i] + (1.0 - b1) * g;
      v[i] = b2 * v[i] + (1.0 - b2) * g * g;
      vmax[i] = std::max(vmax[i], v[i]);
      const double vh = amsgrad ? vmax[i] : v[i];
      p[i] -= lr / bc1 * m[i] / (std::sqrt(vh) / std::sqrt(bc2) + eps);
    }
  }
};

Tensor param(const std::vector<float>& values) {
  Tensor t = Tensor::from_vector({static_cast<Index>(values.size())}, values);
  t.set_requires_grad(true);
  return t;
}

void set_grad(const Tensor& p, const std::vector<double>& g) {
  std::vector<float> f(g.begin(), g.end());
  p.zero_grad();
  p.accumulate_grad(Tensor::from_vector(p.shape(), f));
}

// Gradients for several steps, with sign changes and a large first gradient so that amsgrad's
// running max differs from v.
const std::vector<std::vector<double>> kGrads = {
    {3.0, -2.0, 0.5, 0.0}, {0.1, -0.2, 0.4, 1e-3}, {-0.05, 0.3, -0.6, 2.0}, {0.2, 0.1, 0.1, -1.0}, {0.01, -0.01, 0.2, 0.5}};
const std::vector<float> kP0 = {1.0f, -0.5f, 0.25f, 2.0f};

void compare(const Tensor& p, const RefAdam& ref, double tol) {
  for (size_t i = 0; i < ref.p.size(); ++i) CHECK(p.data()[i] == doctest::Approx(ref.p[i]).epsilon(tol));
}

}  // namespace

TEST_CASE("Adam: first step moves each parameter by about lr against the gradient sign") {
  // t = 1: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps).
  Tensor w = param({1.0f, -1.0f, 0.5f});
  Adam opt({{"w", w}}, AdamOptions().lr(0.1f).eps(1e-6f));
  set_grad(w, {0.5, -4.0, 1e-2});
  opt.step();
  CHECK(w.data()[0] == doctest::Approx(1.0 - 0.1 * 0.5 / (0.5 + 1e-6)).epsilon(1e-6));
  CHECK(w.data()[1] == doctest::Approx(-1.0 + 0.1 * 4.0 / (4.0 + 1e-6)).epsilon(1e-6));
  CHECK(w.data()[2] == doctest::Approx(0.5 - 0.1 * 1e-2 / (1e-2 + 1e-6)).epsilon(1e-6));
  CHECK(opt.step_count() == 1);
}

TEST_CASE("Adam: several steps match PyTorch's formulas") {
  struct Case {
    const char* name;
    float wd;
    bool amsgrad;
  };
  for (Case c : {Case{"plain", 0.0f, false}, Case{"L2 weight decay", 0.1f, false}, Case{"amsgrad", 0.0f, true},
                 Case{"amsgrad + L2", 0.05f, true}}) {
    CAPTURE(c.name);
    Tensor w = param(kP0);
    Adam opt({{"w", w}}, AdamOptions().lr(0.01f).betas(0.9f, 0.999f).eps(1e-6f).weight_decay(c.wd).amsgrad(c.amsgrad));
    RefAdam ref({1.0, -0.5, 0.25, 2.0}, 0.01, 0.9f, 0.999f, 1e-6f, c.wd, c.amsgrad, false);
    for (const auto& g : kGrads) {
      set_grad(w, g);
      opt.step();
      ref.step(g);
      compare(w, ref, 1e-5);
    }
  }
}

TEST_CASE("Adam: amsgrad changes the result once v falls below its running max") {
  // One large gradient, then small ones of the same sign: v decays, amsgrad keeps its max, so
  // its denominators stay larger, its steps smaller, and the parameter moves less.
  Tensor a = param({0.0f}), b = param({0.0f});
  Adam plain({{"w", a}}, AdamOptions().lr(0.01f));
  Adam ams({{"w", b}}, AdamOptions().lr(0.01f).amsgrad(true));
  for (double g : {3.0, 0.01, 0.01, 0.01, 0.01}) {
    set_grad(a, {g});
    set_grad(b, {g});
    plain.step();
    ams.step();
  }
  CHECK(std::fabs(b.data()[0]) < std::fabs(a.data()[0]) - 1e-5);  // 0.029867 vs 0.029889 in double
  auto state = ams.state_tensors();
  REQUIRE(state.size() == 3);
  CHECK(state[2].first == "w.max_exp_avg_sq");
  CHECK(state[2].second.data()[0] > state[1].second.data()[0]);  // max_exp_avg_sq > exp_avg_sq
  CHECK(state[2].second.data()[0] == doctest::Approx(0.001 * 9.0 + 0.0));
}

TEST_CASE("AdamW: decoupled weight decay matches PyTorch and differs from Adam's L2") {
  Tensor w = param(kP0);
  AdamW opt({{"w", w}}, AdamOptions().lr(0.01f).eps(1e-6f).weight_decay(0.1f));
  RefAdam ref({1.0, -0.5, 0.25, 2.0}, 0.01, 0.9f, 0.999f, 1e-6f, 0.1f, false, true);
  for (const auto& g : kGrads) {
    set_grad(w, g);
    opt.step();
    ref.step(g);
    compare(w, ref, 1e-5);
  }
  RefAdam l2({1.0, -0.5, 0.25, 2.0}, 0.01, 0.9f, 0.999f, 1e-6f, 0.1f, false, false);
  for (const auto& g : kGrads) l2.step(g);
  CHECK(std::fabs(l2.p[3] - ref.p[3]) > 1e-3);  // the two decays really differ
  CHECK(opt.name() == "AdamW");
}

TEST_CASE("AdamW: PyTorch's default weight decay; zero gradient still decays") {
  CHECK(AdamW::default_options().weight_decay() == doctest::Approx(0.01f));
  Tensor w = param({2.0f});
  AdamW opt({{"w", w}}, AdamOptions().lr(0.1f).weight_decay(0.5f));
  set_grad(w, {0.0});
  opt.step();
  CHECK(w.data()[0] == doctest::Approx(2.0 * (1.0 - 0.1 * 0.5)).epsilon(1e-6));
}

TEST_CASE("Adam: parameters without a gradient are skipped") {
  Tensor a = param({1.0f}), b = param({1.0f});
  Adam opt({{"a", a}, {"b", b}}, AdamOptions().lr(0.1f));
  set_grad(a, {1.0});
  opt.step();
  CHECK(a.data()[0] < 0.95f);
  CHECK(b.data()[0] == 1.0f);
  CHECK(opt.state_tensors()[2].second.data()[0] == 0.0f);  // b.exp_avg untouched
}

TEST_CASE("Adam: options are validated with the name and the value") {
  Tensor w = param({1.0f});
  CHECK_THROWS_WITH_AS(Adam({{"w", w}}, AdamOptions().beta1(1.2f)), "Adam: beta1 must be in [0, 1), got 1.2",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam({{"w", w}}, AdamOptions().beta2(-0.1f)), "Adam: beta2 must be in [0, 1), got -0.1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam({{"w", w}}, AdamOptions().lr(-1.0f)), "Adam: lr must be finite and >= 0, got -1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(AdamW({{"w", w}}, AdamOptions().eps(-1e-8f)), doctest::Contains("AdamW: eps must be >= 0"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam({{"w", w}}, AdamOptions().weight_decay(-1.0f)),
                       "Adam: weight_decay must be >= 0, got -1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam({{"w", w}, {"w", w}}), "Adam: parameter name 'w' appears twice", std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam({{"", w}}), "Adam: a parameter has an empty name", std::invalid_argument);
  Adam ok({{"w", w}});
  CHECK_THROWS_WITH_AS(ok.set_lr(std::nanf("")), doctest::Contains("Adam: lr must be finite"), std::invalid_argument);
  ok.set_lr(0.5f);
  CHECK(ok.lr() == 0.5f);
}

TEST_CASE("Adam: updates are bitwise independent of the thread count") {
  const Index n = 100003;  // several update chunks
  std::vector<float> p0(n), g(n);
  for (Index i = 0; i < n; ++i) {
    p0[i] = std::sin(0.001f * i);
    g[i] = std::cos(0.003f * i);
  }
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Tensor w = param(p0);
    Adam opt({{"w", w}}, AdamOptions().amsgrad(true).weight_decay(0.01f));
    for (int s = 0; s < 3; ++s) {
      w.zero_grad();
      w.accumulate_grad(Tensor::from_vector({n}, g));
      opt.step();
    }
    results.push_back(w.to_vector());
  }
  set_num_threads(0);
  CHECK(results[0] == results[1]);
}
