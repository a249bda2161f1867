// Per-axis extents ([M, 3] per point and axis, [1, 3] shared) in the layer gradient checks:
// every input and parameter of ContinuousConv (features, both positions, the extents, kernel,
// bias, dense center) and of ContinuousConvTranspose, through the ellipsoid search, the per-axis
// normalized distance, the poly6 window and the per-axis filter coordinates.
#include <doctest/doctest.h>

#include <vector>

#include "layer_gradcheck_options.h"
#include "random_tensors.h"
#include "cconv_kink_free.h"
#include "core/random.h"
#include "expect_grad_ok.h"
#include "layers/continuous_conv.h"
#include "layers/continuous_conv_transpose.h"

namespace lagrad {
namespace {

using testing::uniform;
using testing::fill_uniform;
using testing::layer_gradcheck_options;

// poly6 vanishes smoothly on the ellipsoid, so only the filter's kinks need a margin.
testing::KinkFreeSpec spec_for(CoordinateMapping mapping) {
  testing::KinkFreeSpec spec;
  spec.mapping = mapping;
  spec.boundary_margin = 0.0;
  return spec;
}

void check_conv_per_axis(const Tensor& extents_init, std::uint64_t seed) {
  ContinuousConv conv(ContinuousConvOptions(2, {3, 3, 3})
                          .window_function("poly6")
                          .coordinate_mapping("ball_to_cube_volume_preserving")
                          .use_dense_layer_for_center(true)
                          .activation("tanh")
                          .in_channels(2));
  fill_uniform(conv.kernel(), -1.0f, 1.0f, seed);
  fill_uniform(conv.bias(), -0.3f, 0.3f, seed + 1);
  Tensor inp = Tensor::zeros({6, 3}), out = Tensor::zeros({6, 3});
  Tensor ext = extents_init.clone();
  REQUIRE(testing::find_kink_free_positions(inp, out, ext, spec_for(CoordinateMapping::BallToCubeVolumePreserving),
                                            seed * 100));
  const Tensor f = uniform({6, 2}, -1.0f, 1.0f, seed + 2);
  std::vector<Tensor> xs = {f, inp, out, ext};
  for (auto& t : xs) t.set_requires_grad(true);
  testing::expect_grad_ok([&](const std::vector<Tensor>& in) { return conv(in[0], in[1], in[2], in[3]); }, xs,
                          layer_gradcheck_options({"inp_features", "inp_positions", "out_positions", "extents"}));
  // The parameters with the same per-axis extents.
  testing::expect_grad_ok([&](const std::vector<Tensor>&) { return conv(f, inp, out, ext); },
                          {conv.kernel(), conv.bias(), conv.find("dense.weight")},
                          layer_gradcheck_options({"kernel", "bias", "dense.weight"}));
}

TEST_CASE("ContinuousConv: gradients of every input and parameter with [M, 3] extents") {
  Tensor ext = uniform({6, 3}, 1.0f, 1.6f, 1);
  check_conv_per_axis(ext, 1);
}

TEST_CASE("ContinuousConv: gradients with shared per-axis [1, 3] extents (summed over the rows)") {
  check_conv_per_axis(Tensor::from_vector({1, 3}, {1.5f, 1.1f, 1.3f}), 2);
}

TEST_CASE("ContinuousConvTranspose: gradients of every input and the kernel with [M, 3] extents") {
  ContinuousConvTranspose convt(
      ContinuousConvOptions(2, {3, 3, 3}).window_function("poly6").normalize(true).in_channels(2));
  fill_uniform(convt.kernel(), -1.0f, 1.0f, 3);
  Tensor inp = Tensor::zeros({5, 3}), out = Tensor::zeros({7, 3});
  Tensor ext = uniform({5, 3}, 1.0f, 1.6f, 4);
  // The list's rows are the transpose's inputs (where the extents live), its columns the outputs.
  REQUIRE(testing::find_kink_free_positions(out, inp, ext, spec_for(CoordinateMapping::BallToCubeRadial), 500));
  const Tensor h = uniform({5, 2}, -1.0f, 1.0f, 5);
  std::vector<Tensor> xs = {h, inp, out, ext};
  for (auto& t : xs) t.set_requires_grad(true);
  testing::expect_grad_ok([&](const std::vector<Tensor>& in) { return convt(in[0], in[1], in[2], in[3]); }, xs,
                          layer_gradcheck_options({"inp_features", "inp_positions", "out_positions", "extents"}));
  testing::expect_grad_ok([&](const std::vector<Tensor>&) { return convt(h, inp, out, ext); }, {convt.kernel()},
                          layer_gradcheck_options({"kernel"}));
}

}  // namespace
}  // namespace lagrad
