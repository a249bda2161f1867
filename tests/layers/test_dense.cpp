// Dense: forward against direct loops, gradients, shape inference, penalties, initializers.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "core/ops.h"
#include "core/random.h"
#include "core/tape.h"
#include "gradcheck.h"
#include "layers/dense.h"

using namespace lagrad;
using lagrad::testing::gradcheck;
using lagrad::testing::random_input;

namespace {

// y = act(x W^T + b) by direct loops in double.
std::vector<double> reference_dense(const Tensor& x, const Tensor& w, const Tensor& b, const std::string& act) {
  const Index n = x.dim(0), in = x.dim(1), out = w.dim(0);
  std::vector<double> y(static_cast<size_t>(n * out));
  for (Index i = 0; i < n; ++i)
    for (Index o = 0; o < out; ++o) {
      double s = b.defined() ? b.data()[o] : 0.0;
      for (Index k = 0; k < in; ++k) s += static_cast<double>(x.data()[i * in + k]) * w.data()[o * in + k];
      if (act == "relu") s = std::max(s, 0.0);
      if (act == "tanh") s = std::tanh(s);
      y[static_cast<size_t>(i * out + o)] = s;
    }
  return y;
}

struct Stats {
  double mean = 0, var = 0, max_abs = 0;
};
Stats stats(const Tensor& t) {
  Stats s;
  const Index n = t.numel();
  for (Index i = 0; i < n; ++i) s.mean += t.data()[i];
  s.mean /= n;
  for (Index i = 0; i < n; ++i) {
    const double d = t.data()[i] - s.mean;
    s.var += d * d;
    s.max_abs = std::max(s.max_abs, std::fabs(static_cast<double>(t.data()[i])));
  }
  s.var /= n;
  return s;
}

}  // namespace

TEST_CASE("Dense forward matches x W^T + b and the activation") {
  manual_seed(1);
  for (const char* act : {"linear", "relu", "tanh"}) {
    CAPTURE(act);
    Dense layer(DenseOptions(5).in_features(7).activation(act).bias_initializer("uniform"));
    Tensor x = random_input({11, 7}, 2);
    const Tensor y = layer(x);
    REQUIRE(y.shape() == Shape{11, 5});
    const auto ref = reference_dense(x, layer.weight(), layer.bias(), act);
    for (size_t i = 0; i < ref.size(); ++i) CHECK(y.data()[i] == doctest::Approx(ref[i]).epsilon(1e-5));
  }
  Dense nobias(DenseOptions(3).in_features(4).use_bias(false));
  CHECK_FALSE(nobias.bias().defined());
  CHECK(nobias.named_parameters().size() == 1);
  Tensor x = random_input({2, 4}, 3);
  const auto ref = reference_dense(x, nobias.weight(), Tensor(), "linear");
  const Tensor y = nobias(x);
  for (size_t i = 0; i < ref.size(); ++i) CHECK(y.data()[i] == doctest::Approx(ref[i]).epsilon(1e-5));
}

TEST_CASE("Dense gradients pass the finite-difference check") {
  manual_seed(2);
  for (const char* act : {"linear", "tanh", "softplus"}) {
    CAPTURE(act);
    auto layer = std::make_shared<Dense>(DenseOptions(4).in_features(6).activation(act).bias_initializer("normal"));
    Tensor x = random_input({5, 6}, 4);
    auto r = gradcheck([layer](const std::vector<Tensor>& in) { return layer->forward(in[0]); },
                       {x, layer->weight(), layer->bias()});
    CHECK_MESSAGE(r.ok, r.message);
    CHECK(r.checked == 5 * 6 + 4 * 6 + 4);
  }
}

TEST_CASE("Dense forward records one node for the fused linear op (plus one for an activation)") {
  Dense lin(DenseOptions(3).in_features(2));
  Dense act(DenseOptions(3).in_features(2).activation("relu"));
  Tensor x = random_input({4, 2}, 5);
  Tape tape;
  TapeScope scope(tape);
  const Tensor y1 = lin(x);  // nodes live as long as their outputs
  CHECK(tape.size() == 1);
  const Tensor y2 = act(x);
  CHECK(tape.size() == 3);
  {
    NoGradGuard no_grad;
    const Tensor y3 = lin(x);
    CHECK(tape.size() == 3);
  }
  CHECK(tape.size() == 3);
}

TEST_CASE("Dense infers in_features on the first call and rejects other widths") {
  Dense layer(8);
  CHECK_FALSE(layer.built());
  CHECK(layer.unbuilt_modules() == std::vector<std::string>{""});
  CHECK_THROWS_WITH_AS(layer.named_parameters(), doctest::Contains("the module itself"), std::logic_error);
  CHECK_THROWS_WITH_AS(layer.weight(), doctest::Contains("Dense: weight read before the layer was built"),
                       std::logic_error);
  Tensor y = layer(Tensor::ones({3, 5}));
  CHECK(layer.built());
  CHECK(y.shape() == Shape{3, 8});
  CHECK(layer.in_features() == 5);
  CHECK(layer.weight().shape() == Shape{8, 5});  // PyTorch layout [out, in]
  CHECK(layer.bias().shape() == Shape{8});
  REQUIRE(layer.named_parameters().size() == 2);
  CHECK(layer.named_parameters()[0].first == "weight");
  CHECK(layer.named_parameters()[1].first == "bias");
  CHECK(layer.weight().requires_grad());
  CHECK_THROWS_WITH_AS(layer(Tensor::ones({3, 6})), "Dense: x expected [N, in_features=5], got [3, 6]",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(layer(Tensor::ones({5})), "Dense: x expected [N, in_features=5], got [5]",
                       std::invalid_argument);
  layer.build(5);  // same width: no-op
  CHECK_THROWS_WITH_AS(layer.build(6), "Dense: built for in_features = 5, asked to build for 6",
                       std::invalid_argument);
}

TEST_CASE("Dense options are validated in the constructor") {
  CHECK_THROWS_WITH_AS(Dense(DenseOptions(0)), "Dense: units must be >= 1, got 0", std::invalid_argument);
  CHECK_THROWS_WITH_AS(Dense(DenseOptions(3).in_features(-2)), doctest::Contains("Dense: in_features must be >= 0"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Dense(DenseOptions(3).activation("swish")),
                       doctest::Contains("Dense: activation: unknown name \"swish\""), std::invalid_argument);
  CHECK_THROWS_WITH_AS(Dense(DenseOptions(3).kernel_initializer("glorot")),
                       doctest::Contains("unknown name 'glorot'"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(Dense(DenseOptions(3).kernel_regularizer(Regularizer::L2(-1.0f))),
                       doctest::Contains("Dense: kernel_regularizer must have finite l1, l2 >= 0"),
                       std::invalid_argument);
}

TEST_CASE("Dense regularization penalty is l1 sum|w| + l2 sum w^2, and differentiable") {
  Dense layer(DenseOptions(2)
                  .in_features(2)
                  .kernel_regularizer({0.1f, 0.01f})
                  .bias_regularizer(Regularizer::L2(0.5f))
                  .bias_initializer(Initializer::constant(2.0f)));
  std::vector<float> w = {1.0f, -2.0f, 3.0f, -4.0f};
  std::copy(w.begin(), w.end(), layer.weight().data());
  // kernel: 0.1 * 10 + 0.01 * 30 = 1.3; bias [2, 2]: 0.5 * 8 = 4.
  Tensor penalty = layer.regularization_loss();
  CHECK(penalty.item() == doctest::Approx(5.3));
  backward(penalty);
  // d/dw = 0.1 sign(w) + 0.02 w; d/db = 1.0 b.
  CHECK(layer.weight().grad().to_vector()[0] == doctest::Approx(0.1 + 0.02));
  CHECK(layer.weight().grad().to_vector()[3] == doctest::Approx(-0.1 - 0.08));
  CHECK(layer.bias().grad().to_vector()[1] == doctest::Approx(2.0));
  CHECK(Dense(DenseOptions(2).in_features(2)).regularization_loss().item() == 0.0f);
}

TEST_CASE("Dense initializers: bounds and moments from fan_in = in, fan_out = out") {
  manual_seed(42);
  const Index in = 300, out = 200;  // 60000 values
  auto weight = [&](const char* init) {
    return Dense(DenseOptions(out).in_features(in).kernel_initializer(init)).weight();
  };
  SUBCASE("glorot_uniform / xavier_uniform") {
    const double lim = std::sqrt(6.0 / (in + out));
    for (const char* n : {"glorot_uniform", "xavier_uniform"}) {
      const Stats s = stats(weight(n));
      CHECK(s.max_abs <= lim);
      CHECK(s.max_abs > 0.99 * lim);
      CHECK(std::fabs(s.mean) < 0.01 * lim);
      CHECK(s.var == doctest::Approx(lim * lim / 3.0).epsilon(0.03));
    }
  }
  SUBCASE("glorot_normal, he_uniform, he_normal, uniform, normal") {
    const Stats gn = stats(weight("glorot_normal"));
    CHECK(std::sqrt(gn.var) == doctest::Approx(std::sqrt(2.0 / (in + out))).epsilon(0.03));
    const double he_lim = std::sqrt(6.0 / in);
    const Stats hu = stats(weight("kaiming_uniform"));
    CHECK(hu.max_abs <= he_lim);
    CHECK(hu.max_abs > 0.99 * he_lim);
    CHECK(hu.var == doctest::Approx(he_lim * he_lim / 3.0).epsilon(0.03));
    const Stats hn = stats(weight("he_normal"));
    CHECK(std::sqrt(hn.var) == doctest::Approx(std::sqrt(2.0 / in)).epsilon(0.03));
    CHECK(std::fabs(hn.mean) < 0.01 * std::sqrt(2.0 / in));
    const Stats u = stats(weight("uniform"));
    CHECK(u.max_abs <= 0.05);
    CHECK(u.max_abs > 0.0495);
    const Stats nn = stats(weight("normal"));
    CHECK(std::sqrt(nn.var) == doctest::Approx(0.05).epsilon(0.03));
  }
  SUBCASE("bias defaults to zeros; ones and constants on request") {
    Dense d(DenseOptions(out).in_features(in));
    CHECK(stats(d.bias()).max_abs == 0.0);
    Dense o(DenseOptions(4).in_features(2).bias_initializer("ones").kernel_initializer("zeros"));
    CHECK(o.bias().to_vector() == std::vector<float>(4, 1.0f));
    CHECK(stats(o.weight()).max_abs == 0.0);
  }
  SUBCASE("the same seed gives the same weights") {
    manual_seed(9);
    const auto a = weight("glorot_uniform").to_vector();
    manual_seed(9);
    CHECK(weight("glorot_uniform").to_vector() == a);
  }
}
