// Optimizers and checkpoints against models that are not built, and libtorch's
// Adam(model.parameters()) habit.
#include <doctest/doctest.h>

#include "core/ops.h"
#include "layers/dense.h"
#include "layers/losses.h"
#include "optim/adam.h"
#include "optim/checkpoint.h"
#include "optim/sgd.h"

using namespace lagrad;

namespace {
struct Net : Module {
  std::shared_ptr<Dense> d1, d2;
  explicit Net(Index in = 0) {
    d1 = register_module("dense1", std::make_shared<Dense>(DenseOptions(8).in_features(in).activation("tanh")));
    d2 = register_module("dense2", std::make_shared<Dense>(DenseOptions(1).in_features(in ? 8 : 0)));
  }
  Tensor forward(const Tensor& x) { return (*d2)((*d1)(x)); }
};
}  // namespace

TEST_CASE("Optimizer: an empty parameter list is an error, not an optimizer that trains nothing") {
  CHECK_THROWS_WITH_AS(Adam(NamedTensors{}), doctest::Contains("Adam: no parameters to optimize"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(SGD(NamedTensors{}), doctest::Contains("SGD: no parameters to optimize"),
                       std::invalid_argument);
}

TEST_CASE("Optimizer: built from an unbuilt lazy model throws and says to build first") {
  Net lazy;
  CHECK_THROWS_WITH_AS(Adam(lazy.named_parameters()), doctest::Contains("'dense1', 'dense2'"), std::logic_error);
  CHECK_THROWS_WITH_AS(Adam(lazy.parameters()), doctest::Contains("build(width)"), std::logic_error);
  // One forward builds it; then the optimizer holds every parameter and training moves the loss.
  const Tensor x = Tensor::from_vector({4, 2}, {0, 1, 1, 0, 1, 1, 0, 0});
  const Tensor y = Tensor::from_vector({4, 1}, {1, 1, 2, 0});
  (void)lazy.forward(x);
  Adam opt(lazy.parameters(), AdamOptions().lr(0.05f));  // libtorch's habit
  CHECK(opt.params().size() == 4);
  CHECK(opt.params()[0].first == "dense1.weight");
  float first = 0.0f, last = 0.0f;
  for (int step = 0; step < 50; ++step) {
    opt.zero_grad();
    const Tensor loss = mse_loss(lazy.forward(x), y);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
  }
  CHECK(last < 0.5f * first);
}

TEST_CASE("load_model_state into an unbuilt model says it is not built") {
  Net built(2);
  const NamedTensors state = model_state(built);
  Net lazy;
  CHECK_THROWS_WITH_AS(load_model_state(lazy, state),
                       doctest::Contains("load_model_state: the model is not built"), std::logic_error);
  lazy.d1->build(2);
  lazy.d2->build(8);
  load_model_state(lazy, state);
  CHECK(lazy.d1->weight().to_vector() == built.d1->weight().to_vector());
}
