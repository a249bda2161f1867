// End to end: a small MLP of Dense layers trained with Adam fits a smooth 3-D function.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "core/ops.h"
#include "core/random.h"
#include "core/tape.h"
#include "layers/dense.h"
#include "layers/losses.h"
#include "optim/adam.h"
#include "optim/clip_grad.h"
#include "optim/lr_schedule.h"

using namespace lagrad;

namespace {
struct Mlp : Module {
  std::shared_ptr<Dense> l1, l2, l3;
  Mlp() {
    l1 = register_module("l1", std::make_shared<Dense>(DenseOptions(32).in_features(3).activation("tanh")));
    l2 = register_module("l2", std::make_shared<Dense>(DenseOptions(32).in_features(32).activation("tanh")));
    l3 = register_module("l3", std::make_shared<Dense>(DenseOptions(1).in_features(32)));
  }
  Tensor forward(const Tensor& x) { return l3->forward(l2->forward(l1->forward(x))); }
};
}  // namespace

TEST_CASE("MLP + Adam fits y = sin(x0) cos(x1) + x2^2") {
  manual_seed(7);
  Rng rng(3);
  const Index n = 256;
  Tensor x({n, 3}), y({n, 1});
  for (Index i = 0; i < n; ++i) {
    for (Index d = 0; d < 3; ++d) x.data()[i * 3 + d] = rng.uniform(-1.5f, 1.5f);
    const float* xi = x.data() + i * 3;
    y.data()[i] = std::sin(xi[0]) * std::cos(xi[1]) + xi[2] * xi[2];
  }
  Mlp model;
  CHECK(model.named_parameters().size() == 6);
  CHECK(model.named_parameters()[0].first == "l1.weight");
  Adam opt(model.named_parameters(), AdamOptions().lr(1e-2f));
  const LrSchedule schedule = LrSchedule::cosine(20, 400, 0.05);
  float first = 0.0f, last = 0.0f;
  for (int step = 0; step < 400; ++step) {
    schedule.apply(opt, 1e-2f);
    opt.zero_grad();
    Tensor loss = mse_loss(model.forward(x), y);
    if (step == 0) first = loss.item();
    last = loss.item();
    backward(loss);
    clip_grad_norm(opt.params(), 10.0f);
    opt.step();
  }
  MESSAGE("mse: first " << first << ", last " << last);
  CHECK(first > 0.3f);
  CHECK(last < 3e-3f);
}
