// Activations: values against the formulas, gradients, kink conventions, lookup by name.
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

struct ActivationCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  std::vector<float> kinks;
};

const std::vector<ActivationCase>& cases() {
  static const std::vector<ActivationCase> c = {
      {"relu", [](const Tensor& t) { return relu(t); }, [](double v) { return v > 0 ? v : 0.0; }, {0.0f}},
      {"leaky_relu", [](const Tensor& t) { return leaky_relu(t, 0.2f); },
       [](double v) { return v > 0 ? v : 0.2 * v; }, {0.0f}},
      {"elu", [](const Tensor& t) { return elu(t, 1.5f); }, [](double v) { return v > 0 ? v : 1.5 * (std::exp(v) - 1); },
       {0.0f}},
      {"tanh", [](const Tensor& t) { return tanh(t); }, [](double v) { return std::tanh(v); }, {}},
      {"sigmoid", [](const Tensor& t) { return sigmoid(t); }, [](double v) { return 1 / (1 + std::exp(-v)); }, {}},
      {"softplus", [](const Tensor& t) { return softplus(t); }, [](double v) { return std::log1p(std::exp(v)); }, {}},
  };
  return c;
}

}  // namespace

TEST_CASE("activations: values match the formulas") {
  const Tensor x = random_input({50}, 1, -4.0f, 4.0f);
  for (const auto& c : cases()) {
    CAPTURE(c.name);
    const Tensor y = c.op(x);
    for (Index i = 0; i < x.numel(); ++i) CHECK(y.data()[i] == doctest::Approx(c.ref(x.data()[i])).epsilon(1e-6));
  }
}

TEST_CASE("activations: no overflow at large |x|") {
  const Tensor x = Tensor::from_vector({4}, {-100.0f, -30.0f, 30.0f, 100.0f});
  const Tensor sg = sigmoid(x);
  // Relative checks: doctest::Approx would accept any tiny number.
  CHECK(sg.data()[0] >= 0.0f);
  CHECK(sg.data()[0] < 1e-40f);
  CHECK(std::fabs(sg.data()[1] / (1.0 / (1.0 + std::exp(30.0))) - 1.0) < 1e-5);
  CHECK(sg.data()[2] == 1.0f);
  CHECK(sg.data()[3] == 1.0f);
  const Tensor sp = softplus(x);
  CHECK(sp.data()[0] >= 0.0f);
  CHECK(sp.data()[0] < 1e-40f);
  CHECK(std::fabs(sp.data()[1] / std::log1p(std::exp(-30.0)) - 1.0) < 1e-5);
  CHECK(sp.data()[3] == 100.0f);
  CHECK(sp.data()[2] == 30.0f);
  for (float v : elu(x).to_vector()) CHECK(std::isfinite(v));
}

TEST_CASE("activations: gradients") {
  for (const auto& c : cases()) {
    CAPTURE(c.name);
    const Tensor x = random_input({6, 7}, 2, -3.0f, 3.0f);
    expect_grad_ok([&](const std::vector<Tensor>& in) { return c.op(in[0]); }, {x},
                   GradcheckOptions().set_kinks(c.kinks));
  }
}

TEST_CASE("activations: derivatives at the kink follow PyTorch") {
  const Tensor x = Tensor::zeros({1});
  x.set_requires_grad(true);
  backward(sum(relu(x)));
  CHECK(x.grad().item() == 0.0f);
  x.zero_grad();
  backward(sum(leaky_relu(x, 0.3f)));
  CHECK(x.grad().item() == doctest::Approx(0.3f));
  x.zero_grad();
  backward(sum(elu(x, 2.0f)));
  CHECK(x.grad().item() == doctest::Approx(2.0f));
}

TEST_CASE("activation by name") {
  const Tensor x = random_input({3, 4}, 3, -2.0f, 2.0f);
  for (const char* id : {"", "linear", "none"}) {
    CHECK(is_known_activation(id));
    CHECK(activation(x, id).to_vector() == x.to_vector());
  }
  CHECK(activation(x, "relu").to_vector() == relu(x).to_vector());
  CHECK(activation(x, "leaky_relu").to_vector() == leaky_relu(x).to_vector());
  CHECK(activation(x, "elu").to_vector() == elu(x).to_vector());
  CHECK(activation(x, "tanh").to_vector() == tanh(x).to_vector());
  CHECK(activation(x, "sigmoid").to_vector() == sigmoid(x).to_vector());
  CHECK(activation(x, "softplus").to_vector() == softplus(x).to_vector());
  CHECK_FALSE(is_known_activation("gelu"));
  CHECK_THROWS_WITH_AS(activation(x, "gelu"),
                       doctest::Contains("activation: unknown name \"gelu\" (known: \"linear\", \"none\", \"\", \"relu\", "
                                         "\"leaky_relu\", \"elu\", \"tanh\", \"sigmoid\", \"softplus\")"),
                       std::invalid_argument);
  // Gradients flow through the named form, identity included.
  expect_grad_ok([](const std::vector<Tensor>& in) { return activation(in[0], "tanh"); }, {x});
  expect_grad_ok([](const std::vector<Tensor>& in) { return activation(mul(in[0], 2.0f), "linear"); }, {x});
}
