// The cconv layers' kernel_regularizer, bias_regularizer and dense_kernel_regularizer: summed by
// Module::regularization_loss() (also from a parent module) with the value l1 sum|w| + l2 sum w^2
// per parameter and its gradient.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "core/random.h"
#include "core/tape.h"
#include "expect_grad_ok.h"
#include "layers/continuous_conv.h"
#include "layers/continuous_conv_transpose.h"

namespace lagrad {
namespace {

// Values in +-[0.2, 1]: away from the kink of |w| at 0.
void fill_signed(Tensor t, std::uint64_t seed) {
  Rng rng(seed);
  for (Index k = 0; k < t.numel(); ++k) {
    const float m = rng.uniform(0.2f, 1.0f);
    t.data()[k] = rng.uniform() < 0.5f ? -m : m;
  }
}

double penalty_ref(const Tensor& w, Regularizer r) {
  double l1 = 0.0, l2 = 0.0;
  for (Index k = 0; k < w.numel(); ++k) {
    l1 += std::fabs(double(w.data()[k]));
    l2 += double(w.data()[k]) * w.data()[k];
  }
  return r.l1 * l1 + r.l2 * l2;
}

// d/dw (l1 |w| + l2 w^2) = l1 sign(w) + 2 l2 w, element by element.
void check_penalty_grad(const Tensor& w, Regularizer r) {
  REQUIRE(w.has_grad());
  double err = 0.0;
  for (Index k = 0; k < w.numel(); ++k) {
    const double x = w.data()[k];
    err = std::max(err, std::fabs(w.grad().data()[k] - (r.l1 * (x > 0 ? 1.0 : -1.0) + 2.0 * r.l2 * x)));
  }
  CHECK(err < 1e-6);
}

const Regularizer kKernelReg{0.01f, 0.02f};
const Regularizer kBiasReg = Regularizer::L1(0.3f);
const Regularizer kDenseReg = Regularizer::L2(0.5f);

TEST_CASE("ContinuousConv: kernel, bias and dense regularizers are in regularization_loss, value and gradient") {
  ContinuousConv conv(ContinuousConvOptions(3, {2, 2, 2})
                          .use_dense_layer_for_center(true)
                          .kernel_regularizer(kKernelReg)
                          .bias_regularizer(kBiasReg)
                          .dense_kernel_regularizer(kDenseReg)
                          .in_channels(2));
  const Tensor k = conv.kernel(), b = conv.bias(), w = conv.find("dense.weight");
  fill_signed(k, 1);
  fill_signed(b, 2);
  fill_signed(w, 3);
  const double expect = penalty_ref(k, kKernelReg) + penalty_ref(b, kBiasReg) + penalty_ref(w, kDenseReg);
  const Tensor loss = conv.regularization_loss();
  CHECK(loss.rank() == 0);
  CHECK(loss.item() == doctest::Approx(expect).epsilon(1e-5));
  CHECK(expect > 1.0);
  backward(loss);
  check_penalty_grad(k, kKernelReg);
  check_penalty_grad(b, kBiasReg);
  check_penalty_grad(w, kDenseReg);
  // And against finite differences (the |w| kinks at 0 are avoided by fill_signed).
  conv.zero_grad();
  testing::expect_grad_ok([&](const std::vector<Tensor>&) { return conv.regularization_loss(); }, {k, b, w},
                          testing::GradcheckOptions().set_names({"kernel", "bias", "dense.weight"}));
}

TEST_CASE("ContinuousConv: each regularizer counts alone; a parent module sums its children's") {
  auto make = [](ContinuousConvOptions o) {
    auto c = std::make_shared<ContinuousConv>(o.use_dense_layer_for_center(true).in_channels(2));
    fill_signed(c->kernel(), 4);
    fill_signed(c->bias(), 5);
    fill_signed(c->find("dense.weight"), 6);
    return c;
  };
  const ContinuousConvOptions base(3, {2, 2, 2});
  const auto none = make(base);
  const auto kernel_only = make(ContinuousConvOptions(base).kernel_regularizer(kKernelReg));
  const auto bias_only = make(ContinuousConvOptions(base).bias_regularizer(kBiasReg));
  const auto dense_only = make(ContinuousConvOptions(base).dense_kernel_regularizer(kDenseReg));
  CHECK(none->regularization_loss().item() == 0.0f);
  const double pk = penalty_ref(kernel_only->kernel(), kKernelReg);
  const double pb = penalty_ref(bias_only->bias(), kBiasReg);
  const double pd = penalty_ref(dense_only->find("dense.weight"), kDenseReg);
  CHECK(kernel_only->regularization_loss().item() == doctest::Approx(pk).epsilon(1e-5));
  CHECK(bias_only->regularization_loss().item() == doctest::Approx(pb).epsilon(1e-5));
  CHECK(dense_only->regularization_loss().item() == doctest::Approx(pd).epsilon(1e-5));

  Module parent;
  parent.register_module("a", kernel_only);
  auto inner = std::make_shared<Module>();
  inner->register_module("b", bias_only);
  inner->register_module("c", dense_only);
  inner->register_module("d", none);
  parent.register_module("inner", inner);
  const Tensor total = parent.regularization_loss();
  CHECK(total.item() == doctest::Approx(pk + pb + pd).epsilon(1e-5));
  backward(total);
  check_penalty_grad(kernel_only->kernel(), kKernelReg);
  check_penalty_grad(bias_only->bias(), kBiasReg);
  check_penalty_grad(dense_only->find("dense.weight"), kDenseReg);
  CHECK(!none->kernel().has_grad());
}

TEST_CASE("ContinuousConv: regularizers of a lazily built layer count from the first call") {
  ContinuousConv conv(ContinuousConvOptions(2, {2, 2, 2}).kernel_regularizer(Regularizer::L2(1.0f)));
  CHECK(conv.regularization_loss().item() == 0.0f);  // no parameters yet
  Rng rng(7);
  Tensor pos({8, 3});
  for (Index k = 0; k < pos.numel(); ++k) pos.data()[k] = rng.uniform(0.0f, 1.0f);
  {
    NoGradGuard ng;
    conv(Tensor::ones({8, 3}), pos, pos, 0.8f);
  }
  CHECK(conv.regularization_loss().item() == doctest::Approx(penalty_ref(conv.kernel(), Regularizer::L2(1.0f))));
  CHECK(conv.regularization_loss().item() > 0.0f);
}

TEST_CASE("ContinuousConvTranspose: kernel and bias regularizers are in regularization_loss") {
  ContinuousConvTranspose convt(
      ContinuousConvOptions(2, {2, 2, 2}).kernel_regularizer(kKernelReg).bias_regularizer(kBiasReg).in_channels(3));
  fill_signed(convt.kernel(), 8);
  fill_signed(convt.bias(), 9);
  const Tensor loss = convt.regularization_loss();
  CHECK(loss.item() ==
        doctest::Approx(penalty_ref(convt.kernel(), kKernelReg) + penalty_ref(convt.bias(), kBiasReg)).epsilon(1e-5));
  backward(loss);
  check_penalty_grad(convt.kernel(), kKernelReg);
  check_penalty_grad(convt.bias(), kBiasReg);
}

}  // namespace
}  // namespace lagrad
