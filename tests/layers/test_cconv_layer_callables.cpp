// ContinuousConv / ContinuousConvTranspose with user callables (window_fn, activation_fn):
// values against the double layer reference applying the same functions, the argument the
// window receives (the normalized distances), gradients through the user window, and the error
// for a window returning the wrong shape.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "layer_gradcheck_options.h"
#include "random_tensors.h"
#include "cconv_kink_free.h"
#include "cconv_layer_reference.h"
#include "core/ops.h"
#include "core/random.h"
#include "core/tape.h"
#include "expect_grad_ok.h"
#include "layers/continuous_conv.h"
#include "layers/continuous_conv_transpose.h"

namespace lagrad {
namespace {

using testing::uniform;
using testing::fill_uniform;
using testing::layer_gradcheck_options;

using testing::LayerReference;

// exp(-r) (1 - r)^2 inside the radius, 0 outside: C1 at r = 1, so a point entering or leaving the
// radius is no kink for the finite differences.
Tensor user_window(const Tensor& r) { return mul(exp(neg(r)), square(relu(add(neg(r), 1.0f)))); }
double user_window_ref(double r) { return r < 1.0 ? std::exp(-r) * (1.0 - r) * (1.0 - r) : 0.0; }
// swish
Tensor user_activation(const Tensor& x) { return mul(x, sigmoid(x)); }
double user_activation_ref(double x) { return x / (1.0 + std::exp(-x)); }

// A user window that records the distances it was given.
struct RecordingWindow {
  std::shared_ptr<std::vector<float>> seen = std::make_shared<std::vector<float>>();
  std::shared_ptr<int> calls = std::make_shared<int>(0);
  Tensor operator()(const Tensor& r) const {
    ++*calls;
    *seen = r.to_vector();
    return user_window(r);
  }
};

LayerReference user_reference(bool normalize) {
  LayerReference ref;
  ref.op.normalize = normalize;
  ref.window = user_window_ref;
  ref.activation = user_activation_ref;
  return ref;
}

// The callables take precedence over the names set alongside them.
ContinuousConvOptions user_options(Index filters, const RecordingWindow& w) {
  return ContinuousConvOptions(filters, {3, 3, 3})
      .window_function("poly6")
      .window_fn(w)
      .activation("relu")
      .activation_fn(user_activation);
}

// Sorted normalized distances of the reference's list vs what the window saw.
void check_window_argument(const RecordingWindow& w, testing::RefNeighbors list) {
  CHECK(*w.calls == 1);
  std::vector<float> seen = *w.seen;
  REQUIRE(seen.size() == list.r.size());
  REQUIRE(!seen.empty());
  std::sort(seen.begin(), seen.end());
  std::sort(list.r.begin(), list.r.end());
  double err = 0.0;
  for (size_t k = 0; k < seen.size(); ++k) err = std::max(err, std::fabs(seen[k] - list.r[k]));
  CHECK(err < 1e-5);
  CHECK(list.r.back() > 0.5);  // the distances span the window, not just the center
}

TEST_CASE("ContinuousConv: user window_fn and activation_fn match the reference applying them") {
  RecordingWindow w;
  ContinuousConv conv(user_options(3, w).in_channels(2));
  fill_uniform(conv.kernel(), -1.0f, 1.0f, 1);
  fill_uniform(conv.bias(), -0.5f, 0.5f, 2);
  const Tensor inp = uniform({25, 3}, 0.0f, 1.0f, 3);
  const Tensor out = uniform({15, 3}, 0.0f, 1.0f, 4);
  const Tensor f = uniform({25, 2}, -1.0f, 1.0f, 5);
  const Tensor ext = uniform({15}, 0.7f, 1.0f, 6);
  NoGradGuard ng;
  const Tensor y = conv(f, inp, out, ext);
  const LayerReference ref = user_reference(true);
  const auto expect = testing::reference_conv(ref, conv.kernel(), conv.bias(), f, inp, out, ext);
  CHECK(testing::max_abs(expect) > 0.1);
  CHECK(testing::max_abs_diff(y, expect) < 1e-5);
  // The window got the L2 convention, |d|^2 / R^2, one value per neighbor entry.
  check_window_argument(w, testing::reference_search(inp, out, ext, Metric::L2, false));
}

TEST_CASE("ContinuousConvTranspose: user window_fn and activation_fn match the reference applying them") {
  RecordingWindow w;
  ContinuousConvTranspose convt(user_options(2, w).normalize(false).in_channels(3));
  fill_uniform(convt.kernel(), -1.0f, 1.0f, 11);
  fill_uniform(convt.bias(), -0.5f, 0.5f, 12);
  const Tensor inp = uniform({14, 3}, 0.0f, 1.0f, 13);
  const Tensor out = uniform({22, 3}, 0.0f, 1.0f, 14);
  const Tensor h = uniform({14, 3}, -1.0f, 1.0f, 15);
  const Tensor ext = uniform({14}, 0.7f, 1.0f, 16);
  NoGradGuard ng;
  const Tensor z = convt(h, inp, out, ext);
  const LayerReference ref = user_reference(false);
  const auto expect = testing::reference_conv_transpose(ref, convt.kernel(), convt.bias(), h, inp, out, ext);
  CHECK(testing::max_abs(expect) > 0.1);
  CHECK(testing::max_abs_diff(z, expect) < 1e-5);
  // Rows of the transpose's list are its input points, listing output points.
  check_window_argument(w, testing::reference_search(out, inp, ext, Metric::L2, false));
}

// The analytic gradient misses the window's share if the layer detached it; the finite
// differences do not.
TEST_CASE("ContinuousConv: gradients flow through the user window and activation") {
  manual_seed(21);
  ContinuousConv conv(ContinuousConvOptions(2, {3, 3, 3})
                          .window_fn(user_window)
                          .activation_fn(user_activation)
                          .coordinate_mapping("ball_to_cube_radial")
                          .in_channels(2));
  fill_uniform(conv.kernel(), -1.0f, 1.0f, 22);
  Tensor inp = Tensor::zeros({6, 3}), out = Tensor::zeros({6, 3});
  const Tensor ext = Tensor::full({6}, 1.3f);
  REQUIRE(testing::find_kink_free_positions(inp, out, ext, testing::KinkFreeSpec(), 300));
  std::vector<Tensor> xs = {uniform({6, 2}, -1.0f, 1.0f, 23), inp, out, ext.clone()};
  for (auto& t : xs) t.set_requires_grad(true);
  testing::expect_grad_ok([&](const std::vector<Tensor>& in) { return conv(in[0], in[1], in[2], in[3]); }, xs,
                          layer_gradcheck_options({"inp_features", "inp_positions", "out_positions", "extents"}));
}

TEST_CASE("ContinuousConvTranspose: gradients flow through the user window") {
  manual_seed(31);
  ContinuousConvTranspose convt(
      ContinuousConvOptions(2, {3, 3, 3}).window_fn(user_window).normalize(true).in_channels(2));
  fill_uniform(convt.kernel(), -1.0f, 1.0f, 32);
  Tensor inp = Tensor::zeros({5, 3}), out = Tensor::zeros({7, 3});
  const Tensor ext = Tensor::full({5}, 1.3f);
  // rows = the layer's inputs, listing its outputs
  REQUIRE(testing::find_kink_free_positions(out, inp, ext, testing::KinkFreeSpec(), 400));
  std::vector<Tensor> xs = {uniform({5, 2}, -1.0f, 1.0f, 33), inp, out, ext.clone()};
  for (auto& t : xs) t.set_requires_grad(true);
  testing::expect_grad_ok([&](const std::vector<Tensor>& in) { return convt(in[0], in[1], in[2], in[3]); }, xs,
                          layer_gradcheck_options({"inp_features", "inp_positions", "out_positions", "extents"}));
}

TEST_CASE("ContinuousConv: a user window returning the wrong shape is an error naming window_fn") {
  using E = std::invalid_argument;
  const Tensor inp = uniform({12, 3}, 0.0f, 1.0f, 41);
  const Tensor out = uniform({8, 3}, 0.0f, 1.0f, 42);
  const Tensor f = uniform({12, 2}, -1.0f, 1.0f, 43);
  const Index num = cconv_radius_search(inp, out, Tensor::scalar(1.0f), Metric::L2, false)->num_neighbors();
  REQUIRE(num > 0);
  const std::string n = std::to_string(num);
  auto conv_with = [](WindowFunction w) { return ContinuousConv(ContinuousConvOptions(3).window_fn(std::move(w))); };
  ContinuousConv longer = conv_with([](const Tensor& r) { return Tensor::ones({r.numel() + 1}); });
  CHECK_THROWS_WITH_AS(longer(f, inp, out, 1.0f),
                       ("ContinuousConv: window_fn must return one importance per neighbor, shape [" + n + "], got [" +
                        std::to_string(num + 1) + "]")
                           .c_str(),
                       E);
  ContinuousConv column = conv_with([](const Tensor& r) { return Tensor::ones({r.numel(), 1}); });
  CHECK_THROWS_WITH_AS(
      column(f, inp, out, 1.0f),
      ("ContinuousConv: window_fn must return one importance per neighbor, shape [" + n + "], got [" + n + ", 1]")
          .c_str(),
      E);
  ContinuousConv undefined = conv_with([](const Tensor&) { return Tensor(); });
  CHECK_THROWS_WITH_AS(
      undefined(f, inp, out, 1.0f),
      ("ContinuousConv: window_fn must return one importance per neighbor, shape [" + n + "], got undefined").c_str(),
      E);
  // The transpose: its rows are its input points (here `out`), listing its outputs (`inp`).
  ContinuousConvTranspose convt(
      ContinuousConvOptions(3).window_fn([](const Tensor& r) { return Tensor::ones({r.numel() + 1}); }));
  CHECK_THROWS_WITH_AS(convt(uniform({8, 2}, -1.0f, 1.0f, 44), out, inp, 1.0f),
                       ("ContinuousConvTranspose: window_fn must return one importance per neighbor, shape [" + n +
                        "], got [" + std::to_string(num + 1) + "]")
                           .c_str(),
                       E);
}

}  // namespace
}  // namespace lagrad
