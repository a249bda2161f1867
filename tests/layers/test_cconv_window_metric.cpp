// The built-in windows (poly6, triangle, rectangle) and the search metrics (L1, L2, Linf) of the
// cconv layers: each window's values and derivative as a function, then the layer's forward
// against the double reference for every metric x window x extents layout (which pins the
// normalized-distance convention of each metric), and finite-difference gradients through the
// window and the metric's normalized distance on kink-free configurations.
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
#include "layers/window_function.h"

namespace lagrad {
namespace {

using testing::uniform;
using testing::fill_uniform;

using testing::LayerReference;

// The documented formulas (layers/window_function.h), in double.
double window_ref(const std::string& name, double r) {
  if (name == "poly6") return std::clamp((1.0 - r) * (1.0 - r) * (1.0 - r), 0.0, 1.0);
  if (name == "triangle") return std::clamp(1.0 - r, 0.0, 1.0);
  return 1.0;  // rectangle
}
double window_derivative_ref(const std::string& name, double r) {
  if (r <= 0.0 || r >= 1.0 || name == "rectangle") return 0.0;
  return name == "poly6" ? -3.0 * (1.0 - r) * (1.0 - r) : -1.0;
}

const char* const kWindows[] = {"poly6", "triangle", "rectangle"};

TEST_CASE("built-in windows: values and derivatives as documented") {
  const std::vector<float> r = {-0.75f, -0.1f, 0.0f, 0.05f, 0.3f, 0.5f, 0.9f, 0.999f, 1.0f, 1.2f, 4.0f};
  for (const char* name : kWindows) {
    CAPTURE(name);
    REQUIRE(is_builtin_window(name));
    const WindowFunction w = builtin_window(name);
    Tensor x = Tensor::from_vector({Index(r.size())}, r);
    x.set_requires_grad(true);
    Tape tape;
    TapeScope scope(tape);
    const Tensor y = w(x);
    REQUIRE(y.shape() == x.shape());
    for (size_t k = 0; k < r.size(); ++k) CHECK(y.data()[k] == doctest::Approx(window_ref(name, r[k])).epsilon(1e-6));
    if (std::string(name) == "rectangle") {
      CHECK(!y.requires_grad());  // a constant: nothing to differentiate
      continue;
    }
    tape.backward(sum(y));
    // At the kinks (0, 1) the one-sided derivatives differ; check away from them.
    for (size_t k = 0; k < r.size(); ++k) {
      if (r[k] == 0.0f || r[k] == 1.0f) continue;
      CAPTURE(r[k]);
      CHECK(x.grad().data()[k] == doctest::Approx(window_derivative_ref(name, r[k])).epsilon(1e-5));
    }
  }
  CHECK(!is_builtin_window("hann"));
  CHECK_THROWS_AS(builtin_window("Poly6"), std::invalid_argument);
}

TEST_CASE("built-in windows: derivatives match finite differences off the kinks") {
  for (const char* name : {"poly6", "triangle"}) {
    CAPTURE(name);
    const WindowFunction w = builtin_window(name);
    Tensor x = testing::random_input({64}, 7, -0.5f, 1.5f);
    testing::expect_grad_ok([&](const std::vector<Tensor>& in) { return w(in[0]); }, {x},
                            testing::GradcheckOptions().set_kinks({0.0f, 1.0f}).set_kink_margin(1e-2));
  }
}

Tensor extents_of(int layout, Index rows, std::uint64_t seed) {
  if (layout == 0) return Tensor::scalar(0.9f);
  if (layout == 1) return uniform({rows}, 0.7f, 1.1f, seed);
  return uniform({rows, 3}, 0.6f, 1.2f, seed);
}
const char* const kLayouts[] = {"scalar", "[M]", "[M, 3]"};

TEST_CASE("ContinuousConv: every metric x built-in window x extents layout matches the reference") {
  const Tensor inp = uniform({30, 3}, 0.0f, 1.0f, 1);
  const Tensor out = uniform({18, 3}, 0.0f, 1.0f, 2);
  const Tensor f = uniform({30, 2}, -1.0f, 1.0f, 3);
  for (const char* metric : {"L1", "L2", "Linf"})
    for (const char* window : kWindows)
      for (int layout = 0; layout < 3; ++layout) {
        const std::string tag = std::string(metric) + " " + window + " " + kLayouts[layout];
        INFO(tag);
        ContinuousConv conv(ContinuousConvOptions(3, {3, 3, 3})
                                .radius_search_metric(metric)
                                .window_function(window)
                                .coordinate_mapping("ball_to_cube_volume_preserving")
                                .in_channels(2));
        fill_uniform(conv.kernel(), -1.0f, 1.0f, 4);
        fill_uniform(conv.bias(), -0.5f, 0.5f, 5);
        const Tensor ext = extents_of(layout, 18, 6);
        LayerReference ref;
        ref.metric = parse_metric(metric);
        ref.op.coordinate_mapping = CoordinateMapping::BallToCubeVolumePreserving;
        ref.op.normalize = true;
        const std::string wn = window;
        ref.window = [wn](double r) { return window_ref(wn, r); };
        const auto list = testing::reference_search(inp, out, ext, ref.metric, false);
        REQUIRE(list.boundary_margin > 1e-5);  // inclusion is unambiguous in float
        REQUIRE(list.index.size() > 30);
        // The layer's search selects the same pairs.
        const auto got = cconv_radius_search(inp, out, ext, ref.metric, false);
        CHECK(testing::same_rows(got->neighbors_index, got->row_splits, list.index, list.row_splits));
        NoGradGuard ng;
        const Tensor y = conv(f, inp, out, ext);
        const auto expect = testing::reference_conv(ref, conv.kernel(), conv.bias(), f, inp, out, ext);
        CHECK(testing::max_abs(expect) > 0.1);
        CHECK(testing::max_abs_diff(y, expect) < 2e-5);
      }
}

TEST_CASE("ContinuousConvTranspose: L1 and Linf with triangle and rectangle windows match the reference") {
  const Tensor inp = uniform({12, 3}, 0.0f, 1.0f, 11);
  const Tensor out = uniform({25, 3}, 0.0f, 1.0f, 12);
  const Tensor h = uniform({12, 3}, -1.0f, 1.0f, 13);
  for (const char* metric : {"L1", "Linf"})
    for (const char* window : {"triangle", "rectangle"}) {
      const std::string tag = std::string(metric) + " " + window;
      INFO(tag);
      ContinuousConvTranspose convt(
          ContinuousConvOptions(2, {3, 3, 3}).radius_search_metric(metric).window_function(window).in_channels(3));
      fill_uniform(convt.kernel(), -1.0f, 1.0f, 14);
      const Tensor ext = uniform({12}, 0.8f, 1.2f, 15);
      LayerReference ref;
      ref.metric = parse_metric(metric);
      ref.op.normalize = true;
      const std::string wn = window;
      ref.window = [wn](double r) { return window_ref(wn, r); };
      REQUIRE(testing::reference_search(out, inp, ext, ref.metric, false).boundary_margin > 1e-5);
      NoGradGuard ng;
      const Tensor z = convt(h, inp, out, ext);
      const auto expect = testing::reference_conv_transpose(ref, convt.kernel(), convt.bias(), h, inp, out, ext);
      CHECK(testing::max_abs(expect) > 0.1);
      CHECK(testing::max_abs_diff(z, expect) < 2e-5);
    }
}

// Gradients with respect to both positions and the extents, through the metric's normalized
// distance and the window, on configurations away from every kink (cconv_kink_free.h).
void check_layer_gradients(const char* metric, const char* window, int layout, std::uint64_t seed) {
  const std::string tag = std::string(metric) + " " + window + " " + kLayouts[layout];
  INFO(tag);
  ContinuousConv conv(
      ContinuousConvOptions(2, {3, 3, 3}).radius_search_metric(metric).window_function(window).in_channels(2));
  fill_uniform(conv.kernel(), -1.0f, 1.0f, seed);
  Tensor inp = Tensor::zeros({6, 3}), out = Tensor::zeros({6, 3});
  Tensor ext = layout == 1 ? Tensor::full({6}, 1.3f) : uniform({6, 3}, 1.1f, 1.5f, seed + 1);
  testing::KinkFreeSpec spec;
  spec.metric = parse_metric(metric);
  spec.min_entries = 16;
  REQUIRE(testing::find_kink_free_positions(inp, out, ext, spec, seed * 1000));
  std::vector<Tensor> xs = {inp, out, ext};
  for (auto& t : xs) t.set_requires_grad(true);
  const Tensor f = uniform({6, 2}, -1.0f, 1.0f, seed + 2);
  testing::expect_grad_ok([&](const std::vector<Tensor>& in) { return conv(f, in[0], in[1], in[2]); }, xs,
                          testing::layer_gradcheck_options({"inp_positions", "out_positions", "extents"}));
}

TEST_CASE("ContinuousConv: gradients through L1 and Linf normalized distances and the windows") {
  check_layer_gradients("L1", "triangle", 1, 1);
  check_layer_gradients("L1", "poly6", 2, 2);
  check_layer_gradients("Linf", "triangle", 2, 3);
  check_layer_gradients("Linf", "poly6", 1, 4);
  check_layer_gradients("L1", "rectangle", 1, 5);
  check_layer_gradients("Linf", "rectangle", 2, 6);
}

TEST_CASE("ContinuousConv: gradients through the triangle and rectangle windows with L2") {
  check_layer_gradients("L2", "triangle", 1, 7);
  check_layer_gradients("L2", "triangle", 2, 8);
  check_layer_gradients("L2", "rectangle", 1, 9);
}

}  // namespace
}  // namespace lagrad
