// SGD against PyTorch's update rule, computed by hand in double.
#include <doctest/doctest.h>

#include <vector>

#include "optim/sgd.h"

using namespace lagrad;

namespace {

Tensor param(const std::vector<float>& v) {
  Tensor t = Tensor::from_vector({static_cast<Index>(v.size())}, v);
  t.set_requires_grad(true);
  return t;
}

void set_grad(const Tensor& p, std::vector<float> g) {
  p.zero_grad();
  p.accumulate_grad(Tensor::from_vector(p.shape(), std::move(g)));
}

// torch.optim.SGD for one scalar parameter, in double.
struct RefSGD {
  double lr, mom, damp, wd;
  bool nesterov;
  double p, buf = 0.0;
  bool started = false;
  void step(double g) {
    double d = g + wd * p;
    if (mom != 0.0) {
      buf = started ? mom * buf + (1.0 - damp) * d : d;
      started = true;
      d = nesterov ? d + mom * buf : buf;
    }
    p -= lr * d;
  }
};

const std::vector<float> kGrads = {1.0f, -0.5f, 0.25f, 2.0f, 0.0f, -1.0f};

}  // namespace

TEST_CASE("SGD: plain step is p -= lr * g") {
  Tensor w = param({1.0f, -2.0f});
  SGD opt({{"w", w}}, SGDOptions().lr(0.1f));
  set_grad(w, {0.5f, -1.0f});
  opt.step();
  CHECK(w.data()[0] == doctest::Approx(0.95));
  CHECK(w.data()[1] == doctest::Approx(-1.9));
}

TEST_CASE("SGD: momentum, dampening, nesterov and weight decay match PyTorch") {
  struct Case {
    const char* name;
    float mom, damp, wd;
    bool nesterov;
  };
  for (Case c : {Case{"momentum", 0.9f, 0.0f, 0.0f, false}, Case{"dampening", 0.9f, 0.5f, 0.0f, false},
                 Case{"nesterov", 0.9f, 0.0f, 0.0f, true}, Case{"weight decay", 0.0f, 0.0f, 0.1f, false},
                 Case{"nesterov + weight decay", 0.8f, 0.0f, 0.05f, true}}) {
    CAPTURE(c.name);
    Tensor w = param({1.5f});
    SGD opt({{"w", w}}, SGDOptions().lr(0.1f).momentum(c.mom).dampening(c.damp).weight_decay(c.wd).nesterov(c.nesterov));
    RefSGD ref{0.1, c.mom, c.damp, c.wd, c.nesterov, 1.5};
    for (float g : kGrads) {
      set_grad(w, {g});
      opt.step();
      ref.step(g);
      CHECK(w.data()[0] == doctest::Approx(ref.p).epsilon(1e-6));
    }
  }
}

TEST_CASE("SGD: the first momentum step seeds the buffer with the gradient (no dampening)") {
  // PyTorch: buf = d on the first step, so p moves by lr * d even with dampening 0.5.
  Tensor w = param({0.0f});
  SGD opt({{"w", w}}, SGDOptions().lr(1.0f).momentum(0.9f).dampening(0.5f));
  set_grad(w, {2.0f});
  opt.step();
  CHECK(w.data()[0] == doctest::Approx(-2.0));
  set_grad(w, {2.0f});
  opt.step();  // buf = 0.9 * 2 + 0.5 * 2 = 2.8
  CHECK(w.data()[0] == doctest::Approx(-4.8));
  CHECK(opt.state_tensors()[0].second.data()[0] == doctest::Approx(2.8));
}

TEST_CASE("SGD: options are validated") {
  Tensor w = param({1.0f});
  CHECK_THROWS_WITH_AS(SGD({{"w", w}}, SGDOptions().nesterov(true)), "SGD: momentum (with nesterov) must be > 0, got 0",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(SGD({{"w", w}}, SGDOptions().momentum(0.9f).dampening(0.1f).nesterov(true)),
                       "SGD: dampening (with nesterov) must be 0, got 0.1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(SGD({{"w", w}}, SGDOptions().momentum(-0.5f)), "SGD: momentum must be >= 0, got -0.5",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(SGD({{"w", w}}, SGDOptions().dampening(1.5f)), "SGD: dampening must be in [0, 1], got 1.5",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(SGD({{"w", w}}, SGDOptions().weight_decay(-1.0f)), "SGD: weight_decay must be >= 0, got -1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(SGD({{"w", Tensor()}}), "SGD: parameter 'w' is undefined", std::invalid_argument);
}

TEST_CASE("Optimizer::zero_grad drops the gradients") {
  Tensor w = param({1.0f});
  SGD opt({{"w", w}});
  set_grad(w, {1.0f});
  opt.zero_grad();
  CHECK_FALSE(w.has_grad());
  opt.step();  // nothing to do, but the step counts
  CHECK(w.data()[0] == 1.0f);
  CHECK(opt.step_count() == 1);
}
