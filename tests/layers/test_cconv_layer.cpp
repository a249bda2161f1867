// ContinuousConv / ContinuousConvTranspose layers: Open3D defaults, option and call errors,
// shape inference and parameter names, user neighbors, hash-table reuse, gradients of every
// input through search + window + op, the transpose as adjoint, determinism across threads.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "layer_gradcheck_options.h"
#include "random_tensors.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"
#include "core/tape.h"
#include "gradcheck.h"
#include "layers/continuous_conv.h"
#include "layers/continuous_conv_op.h"
#include "layers/continuous_conv_transpose.h"
#include "layers/kernels/cconv_geometry.h"
#include "test_cconv_layer_kinks.h"

namespace lagrad {
namespace {

using testing::uniform;

// Points on a jittered cubic lattice (the benchmark's layout, small).
Tensor lattice(int n, float spacing, float jitter, std::uint64_t seed) {
  Rng rng(seed);
  Tensor t({Index(n) * n * n, 3});
  float* p = t.data();
  for (int z = 0; z < n; ++z)
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x) {
        const int c[3] = {x, y, z};
        for (int a = 0; a < 3; ++a) *p++ = c[a] * spacing + rng.uniform(-jitter, jitter);
      }
  return t;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0.0;
  for (Index k = 0; k < a.numel(); ++k) m = std::max(m, double(std::fabs(a.data()[k] - b.data()[k])));
  return m;
}

// Bit patterns, not float ==: -0.0 == 0.0 and NaN != NaN would hide or invent differences.
bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), static_cast<size_t>(a.numel()) * sizeof(float)) == 0;
}

ContinuousConvOptions dlf_options(Index filters) {
  return ContinuousConvOptions(filters, {4, 4, 4})
      .coordinate_mapping("ball_to_cube_volume_preserving")
      .normalize(false)
      .window_function("poly6")
      .radius_search_ignore_query_points(true);
}

TEST_CASE("ContinuousConv: defaults are Open3D's") {
  const ContinuousConvOptions o(8, {3, 3, 3});
  CHECK(o.activation().empty());
  CHECK(o.use_bias());
  CHECK(o.kernel_initializer().name == "uniform");
  CHECK(o.bias_initializer().name == "zeros");
  CHECK(!o.kernel_regularizer().active());
  CHECK(!o.bias_regularizer().active());
  CHECK(o.align_corners());
  CHECK(o.coordinate_mapping() == "ball_to_cube_radial");
  CHECK(o.interpolation() == "linear");
  CHECK(o.normalize());
  CHECK(!o.radius_search_ignore_query_points());
  CHECK(o.radius_search_metric() == "L2");
  CHECK(o.offset() == std::array<float, 3>{0.0f, 0.0f, 0.0f});
  CHECK(o.window_function().empty());
  CHECK(!o.window_fn());
  CHECK(!o.use_dense_layer_for_center());
  CHECK(o.dense_kernel_initializer().name == "glorot_uniform");
  CHECK(o.in_channels() == 0);

  ContinuousConv conv(o);
  CHECK(conv.op_options().coordinate_mapping == CoordinateMapping::BallToCubeRadial);
  CHECK(conv.op_options().interpolation == Interpolation::Linear);
  CHECK(conv.op_options().align_corners);
  CHECK(conv.op_options().normalize);
  CHECK(conv.metric() == Metric::L2);
}

TEST_CASE("ContinuousConv: option errors name the option and the value") {
  using E = std::invalid_argument;
  CHECK_THROWS_WITH_AS(ContinuousConv(ContinuousConvOptions(0, {3, 3, 3})), "ContinuousConv: filters must be >= 1, got 0", E);
  CHECK_THROWS_WITH_AS(ContinuousConv(ContinuousConvOptions(4, {3, 3})),
                       "ContinuousConv: kernel_size expected 3 sizes >= 1 [kd, kh, kw], got [3, 3]", E);
  CHECK_THROWS_WITH_AS(ContinuousConv(ContinuousConvOptions(4, {3, 0, 3})),
                       "ContinuousConv: kernel_size expected 3 sizes >= 1 [kd, kh, kw], got [3, 0, 3]", E);
  CHECK_THROWS_WITH_AS(ContinuousConv(ContinuousConvOptions(4).coordinate_mapping("ball")),
                       "ContinuousConv: coordinate_mapping: unknown value 'ball' (expected 'ball_to_cube_radial', "
                       "'ball_to_cube_volume_preserving' or 'identity')",
                       E);
  CHECK_THROWS_WITH_AS(ContinuousConv(ContinuousConvOptions(4).interpolation("cubic")),
                       "ContinuousConv: interpolation: unknown value 'cubic' (expected 'linear', 'linear_border' or "
                       "'nearest_neighbor')",
                       E);
  CHECK_THROWS_WITH_AS(ContinuousConv(ContinuousConvOptions(4).window_function("hann")),
                       "ContinuousConv: window_function: unknown built-in window 'hann' (expected 'poly6', "
                       "'rectangle' or 'triangle', or pass a callable)",
                       E);
  CHECK_THROWS_WITH_AS(ContinuousConv(ContinuousConvOptions(4).kernel_regularizer(Regularizer::L2(-1.0f))),
                       "ContinuousConv: kernel_regularizer must have finite l1, l2 >= 0, got l1 = 0.000000, l2 = "
                       "-1.000000",
                       E);
  CHECK_THROWS_WITH_AS(ContinuousConv(ContinuousConvOptions(4).in_channels(-2)),
                       "ContinuousConv: in_channels must be >= 0 (0: inferred), got -2", E);
  CHECK_THROWS_AS(ContinuousConv(ContinuousConvOptions(4).radius_search_metric("L3")), E);
  CHECK_THROWS_AS(ContinuousConv(ContinuousConvOptions(4).activation("swish9")), E);
  CHECK_THROWS_AS(ContinuousConv(ContinuousConvOptions(4).kernel_initializer("bogus")), E);
  CHECK_THROWS_WITH_AS(ContinuousConvTranspose(ContinuousConvOptions(4).use_dense_layer_for_center(true)),
                       "ContinuousConvTranspose: use_dense_layer_for_center is not supported", E);
}

TEST_CASE("ContinuousConv: in_channels inferred on the first call; names and shapes as Open3D") {
  ContinuousConv conv(ContinuousConvOptions(5, {4, 3, 2}).use_dense_layer_for_center(true));
  CHECK(!conv.built());
  CHECK_THROWS_AS(conv.kernel(), std::logic_error);
  const Tensor pos = uniform({20, 3}, 0.0f, 1.0f, 1);
  const Tensor f = uniform({20, 7}, -1.0f, 1.0f, 2);
  const Tensor y = conv(f, pos, pos, 0.8f);
  CHECK(y.shape() == Shape{20, 5});
  CHECK(conv.kernel().shape() == Shape{4, 3, 2, 7, 5});
  const auto params = conv.named_parameters();
  REQUIRE(params.size() == 3);
  CHECK(params[0].first == "kernel");
  CHECK(params[1].first == "bias");
  CHECK(params[1].second.shape() == Shape{5});
  CHECK(params[2].first == "dense.weight");
  CHECK(params[2].second.shape() == Shape{5, 7});
  const auto buffers = conv.named_buffers();
  REQUIRE(buffers.size() == 1);
  CHECK(buffers[0].first == "offset");
  CHECK(buffers[0].second.shape() == Shape{3});
  // Default kernel initializer: uniform in [-0.05, 0.05]; bias zeros.
  const auto k = conv.kernel().to_vector();
  CHECK(*std::max_element(k.begin(), k.end()) <= 0.05f);
  CHECK(*std::min_element(k.begin(), k.end()) >= -0.05f);
  CHECK(*std::max_element(k.begin(), k.end()) > 0.03f);
  for (float b : conv.bias().to_vector()) CHECK(b == 0.0f);

  // A second call with another width is an error naming the expected width.
  CHECK_THROWS_WITH_AS(conv(uniform({20, 6}, -1.0f, 1.0f, 3), pos, pos, 0.8f),
                       "ContinuousConv: inp_features expected [num_inp, in_channels=7], got [20, 6]",
                       std::invalid_argument);
  // Given in_channels: built at construction.
  ContinuousConv eager(ContinuousConvOptions(2, {3, 3, 3}).in_channels(4));
  CHECK(eager.built());
  CHECK(eager.kernel().shape() == Shape{3, 3, 3, 4, 2});
}

TEST_CASE("ContinuousConv: call errors name the argument") {
  using E = std::invalid_argument;
  ContinuousConv conv(ContinuousConvOptions(3, {3, 3, 3}).in_channels(2));
  const Tensor pos = uniform({10, 3}, 0.0f, 1.0f, 1);
  const Tensor f = uniform({10, 2}, -1.0f, 1.0f, 2);
  CHECK_THROWS_WITH_AS(conv(f, pos, pos, 0.0f),
                       "ContinuousConv: cconv_radius_search: extents must be positive and finite, got 0.000000 at "
                       "flat index 0",
                       E);
  CHECK_THROWS_WITH_AS(conv(f, pos, pos, -1.0f),
                       "ContinuousConv: cconv_radius_search: extents must be positive and finite, got -1.000000 at "
                       "flat index 0",
                       E);
  CHECK_THROWS_WITH_AS(conv(f, pos, pos, Tensor::ones({4})),
                       "ContinuousConv: cconv_radius_search: extents expected a scalar, [1], [num_queries=10], "
                       "[num_queries=10, 3] or [1, 3], got [4]",
                       E);
  Tensor bad = pos.clone();
  bad.data()[7] = std::numeric_limits<float>::quiet_NaN();
  IndexVector idx = {0, 1, 2}, splits(11, 3);
  splits[0] = 0;
  ContinuousConvCall call;
  call.user_neighbors_index = &idx;
  call.user_neighbors_row_splits = &splits;
  CHECK_THROWS_WITH_AS(conv(f, bad, pos, 1.0f, call),
                       "continuous_conv: inp_positions has a non-finite value (nan) at [2, 1]", E);
  CHECK_THROWS_WITH_AS(conv(f, pos, bad, 1.0f),
                       "ContinuousConv: cconv_radius_search: queries has a non-finite value (nan) at [2, 1]", E);
  idx[1] = 10;
  CHECK_THROWS_WITH_AS(conv(f, pos, pos, 1.0f, call),
                       "ContinuousConv: user_neighbors_index[1] = 10 out of range [0, num_inp=10)", E);
  idx[1] = -1;
  CHECK_THROWS_WITH_AS(conv(f, pos, pos, 1.0f, call),
                       "ContinuousConv: user_neighbors_index[1] = -1 out of range [0, num_inp=10)", E);
  idx[1] = 1;
  splits.pop_back();
  CHECK_THROWS_WITH_AS(conv(f, pos, pos, 1.0f, call),
                       "ContinuousConv: user_neighbors_row_splits expected [num_out + 1 = 11], got [10]", E);
  ContinuousConvCall half;
  half.user_neighbors_index = &idx;
  CHECK_THROWS_WITH_AS(conv(f, pos, pos, 1.0f, half),
                       "ContinuousConv: user_neighbors_index and user_neighbors_row_splits must be given together", E);
  ContinuousConvCall bad_importance;
  bad_importance.inp_importance = Tensor::ones({9});
  CHECK_THROWS_WITH_AS(conv(f, pos, pos, Tensor::full({10}, 0.5f), bad_importance),
                       "continuous_conv: inp_importance expected [num_inp=10], got [9]", E);
}

TEST_CASE("ContinuousConv: user neighbors replace the search, without window") {
  manual_seed(3);
  ContinuousConv conv(ContinuousConvOptions(4, {3, 3, 3}).window_function("poly6").normalize(false));
  const Tensor inp = uniform({12, 3}, 0.0f, 1.0f, 1);
  const Tensor out = uniform({5, 3}, 0.0f, 1.0f, 2);
  const Tensor f = uniform({12, 3}, -1.0f, 1.0f, 3);
  IndexVector idx = {0, 3, 7, 11, 2, 5, 5, 1};
  IndexVector splits = {0, 2, 2, 5, 6, 8};
  const Tensor imp = uniform({8}, 0.2f, 1.0f, 4);
  ContinuousConvCall call;
  call.user_neighbors_index = &idx;
  call.user_neighbors_row_splits = &splits;
  call.user_neighbors_importance = imp;
  NoGradGuard ng;
  const Tensor y = conv(f, inp, out, 2.0f, call);
  CConvInputs in;
  in.filters = conv.kernel();
  in.out_positions = out;
  in.extents = Tensor::scalar(2.0f);
  in.offset = conv.offset();
  in.inp_positions = inp;
  in.inp_features = f;
  in.neighbors_index = &idx;
  in.neighbors_row_splits = &splits;
  in.neighbors_importance = imp;
  const Tensor direct = add(continuous_conv(in, conv.op_options()), conv.bias());
  CHECK(bitwise_equal(y, direct));
  // Row 1 has no neighbors: only the bias (zeros) remains.
  for (Index o = 0; o < 4; ++o) CHECK(y.at({1, o}) == 0.0f);
}

TEST_CASE("ContinuousConv: a prebuilt hash table and a shared search give the same result") {
  manual_seed(4);
  ContinuousConv conv(dlf_options(6));
  const Tensor pos = lattice(6, 0.05f, 0.005f, 5);
  const Tensor f = uniform({pos.dim(0), 3}, -1.0f, 1.0f, 6);
  NoGradGuard ng;
  const Tensor y = conv(f, pos, pos, 0.225f);
  SpatialHashIndex hash(pos.data(), pos.dim(0), 0.1125f);
  ContinuousConvCall call;
  call.hash_table = &hash;
  CHECK(bitwise_equal(conv(f, pos, pos, 0.225f, call), y));
  ContinuousConvCall shared;
  shared.neighbors = cconv_radius_search(pos, pos, Tensor::scalar(0.225f), Metric::L2, true);
  CHECK(bitwise_equal(conv(f, pos, pos, 0.225f, shared), y));
  // Average neighbors of the DLF layout: about 4/3 pi (2.25)^3 - 1 = 47.
  const double avg = double(shared.neighbors->num_neighbors()) / double(pos.dim(0));
  CHECK(avg > 15.0);  // boundary points of this small cube have fewer
  SpatialHashIndex other(pos.data(), pos.dim(0) - 1, 0.1125f);
  call.hash_table = &other;
  CHECK_THROWS_AS(conv(f, pos, pos, 0.225f, call), std::invalid_argument);
}

TEST_CASE("ContinuousConv: extents per point and per axis") {
  manual_seed(5);
  ContinuousConv conv(ContinuousConvOptions(3, {3, 3, 3}).window_function("poly6"));
  const Tensor pos = uniform({30, 3}, 0.0f, 1.0f, 7);
  const Tensor f = uniform({30, 2}, -1.0f, 1.0f, 8);
  NoGradGuard ng;
  const Tensor y_scalar = conv(f, pos, pos, 0.6f);
  // Equal extents in every layout give the same result.
  CHECK(max_abs_diff(conv(f, pos, pos, Tensor::full({30}, 0.6f)), y_scalar) < 1e-6);
  CHECK(max_abs_diff(conv(f, pos, pos, Tensor::full({30, 3}, 0.6f)), y_scalar) < 1e-6);
  // Per-axis extents select the ellipsoid: a long x axis reaches more points than a short one.
  Tensor ext = Tensor::full({30, 3}, 0.3f);
  for (Index j = 0; j < 30; ++j) ext.data()[3 * j] = 1.2f;
  const auto ell = cconv_radius_search(pos, pos, ext, Metric::L2, false);
  const auto small = cconv_radius_search(pos, pos, Tensor::scalar(0.3f), Metric::L2, false);
  const auto big = cconv_radius_search(pos, pos, Tensor::scalar(1.2f), Metric::L2, false);
  CHECK(ell->num_neighbors() > small->num_neighbors());
  CHECK(ell->num_neighbors() < big->num_neighbors());
}

// Gradcheck of the whole layer (search, window, op, dense center, bias, activation) with
// respect to every input, on a configuration whose neighbor entries stay away from the kinks
// of the filter function (see test_cconv_layer_kinks.h); the poly6 window vanishes smoothly at
// the search radius, so points entering or leaving the radius are no kink either.
TEST_CASE("ContinuousConv: gradients of every input through search, window and op") {
  manual_seed(6);
  ContinuousConv conv(ContinuousConvOptions(2, {3, 3, 3})
                          .window_function("poly6")
                          .coordinate_mapping("ball_to_cube_volume_preserving")
                          .use_dense_layer_for_center(true)
                          .activation("tanh")
                          .in_channels(2));
  Tensor pos = uniform({6, 3}, 0.0f, 0.5f, 9);
  Tensor f = uniform({6, 2}, -1.0f, 1.0f, 10);
  Tensor ext = Tensor::full({6}, 1.3f);
  Tensor imp = uniform({6}, 0.5f, 1.5f, 11);
  Tensor out_pos = uniform({6, 3}, 0.0f, 0.5f, 12);
  kernels::CConvGeometry g;
  g.mapping = CoordinateMapping::BallToCubeVolumePreserving;
  g.k[0] = g.k[1] = g.k[2] = 3;
  for (std::uint64_t s = 100;; ++s) {
    Rng rng(s);
    for (Tensor* t : {&pos, &out_pos})
      for (Index k = 0; k < t->numel(); ++k) t->data()[k] = rng.uniform(0.0f, 0.5f);
    const auto list = cconv_radius_search(pos, out_pos, ext, Metric::L2, false);
    if (list->num_neighbors() > 20 &&
        testing::cconv_kink_margin(g, pos.data(), out_pos.data(), ext.data(), false, list->neighbors_index,
                                   list->row_splits) > 0.02)
      break;
  }
  std::vector<Tensor> xs = {f, pos, out_pos, ext, imp};
  for (auto& t : xs) t.set_requires_grad(true);
  auto fn = [&](const std::vector<Tensor>& in) {
    ContinuousConvCall call;
    call.inp_importance = in[4];
    return conv(in[0], in[1], in[2], in[3], call);
  };
  const testing::GradcheckOptions opt = testing::layer_gradcheck_options(
      {"inp_features", "inp_positions", "out_positions", "extents", "inp_importance"});
  const auto r = testing::gradcheck(fn, xs, opt);
  CHECK_MESSAGE(r.ok, r.message);
  // The parameters too.
  std::vector<Tensor> ps = {conv.kernel(), conv.bias(), conv.find("dense.weight")};
  const auto rp = testing::gradcheck(
      [&](const std::vector<Tensor>&) {
        ContinuousConvCall call;
        call.inp_importance = imp;
        return conv(f, pos, out_pos, ext, call);
      },
      ps, opt);
  CHECK_MESSAGE(rp.ok, rp.message);
}

TEST_CASE("ContinuousConvTranspose: gradients of features, positions and extents") {
  manual_seed(9);
  ContinuousConvTranspose convt(ContinuousConvOptions(2, {3, 3, 3})
                                    .window_function("poly6")
                                    .coordinate_mapping("ball_to_cube_radial")
                                    .normalize(true)
                                    .in_channels(3));
  Tensor inp = uniform({5, 3}, 0.0f, 0.5f, 1);
  Tensor out = uniform({7, 3}, 0.0f, 0.5f, 2);
  Tensor ext = Tensor::full({5}, 1.3f);
  const Tensor h = uniform({5, 3}, -1.0f, 1.0f, 3);
  Tensor out_imp = uniform({7}, 0.5f, 1.5f, 4);
  kernels::CConvGeometry g;
  g.mapping = CoordinateMapping::BallToCubeRadial;
  g.k[0] = g.k[1] = g.k[2] = 3;
  for (std::uint64_t s = 200;; ++s) {
    Rng rng(s);
    for (Tensor* t : {&inp, &out})
      for (Index k = 0; k < t->numel(); ++k) t->data()[k] = rng.uniform(0.0f, 0.5f);
    // rows = the layer's inputs, listing its outputs
    const auto list = cconv_radius_search(out, inp, ext, Metric::L2, false);
    if (list->num_neighbors() > 20 &&
        testing::cconv_kink_margin(g, out.data(), inp.data(), ext.data(), false, list->neighbors_index,
                                   list->row_splits) > 0.02)
      break;
  }
  std::vector<Tensor> xs = {h, inp, out, ext, out_imp};
  for (auto& t : xs) t.set_requires_grad(true);
  auto fn = [&](const std::vector<Tensor>& in) {
    ContinuousConvTransposeCall call;
    call.out_importance = in[4];
    return convt(in[0], in[1], in[2], in[3], call);
  };
  const testing::GradcheckOptions opt = testing::layer_gradcheck_options(
      {"inp_features", "inp_positions", "out_positions", "extents", "out_importance"});
  const auto r = testing::gradcheck(fn, xs, opt);
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("ContinuousConvTranspose: the adjoint of ContinuousConv in the features") {
  manual_seed(7);
  const Tensor inp = uniform({15, 3}, 0.0f, 1.0f, 1);
  const Tensor out = uniform({11, 3}, 0.0f, 1.0f, 2);
  const Tensor ext = uniform({11}, 0.6f, 0.9f, 3);
  ContinuousConv conv(ContinuousConvOptions(4, {3, 4, 2}).use_bias(false).window_function("poly6").in_channels(3));
  ContinuousConvTranspose convt(
      ContinuousConvOptions(3, {3, 4, 2}).use_bias(false).window_function("poly6").in_channels(4));
  // kernel_t[z, y, x, o, c] = kernel[z, y, x, c, o]
  const Tensor k = conv.kernel();
  Tensor kt = convt.kernel();
  for (Index s = 0; s < 24; ++s)
    for (Index c = 0; c < 3; ++c)
      for (Index o = 0; o < 4; ++o) kt.data()[(s * 4 + o) * 3 + c] = k.data()[(s * 3 + c) * 4 + o];
  const Tensor f = uniform({15, 3}, -1.0f, 1.0f, 4);
  const Tensor h = uniform({11, 4}, -1.0f, 1.0f, 5);
  NoGradGuard ng;
  const Tensor y = conv(f, inp, out, ext);    // [11, 4]
  const Tensor z = convt(h, out, inp, ext);   // [15, 3]
  double lhs = 0.0, rhs = 0.0;
  for (Index q = 0; q < y.numel(); ++q) lhs += double(y.data()[q]) * h.data()[q];
  for (Index q = 0; q < z.numel(); ++q) rhs += double(z.data()[q]) * f.data()[q];
  CHECK(lhs == doctest::Approx(rhs).epsilon(1e-5));
  CHECK(std::fabs(lhs) > 1e-3);
}

TEST_CASE("ContinuousConv: results and gradients are bitwise independent of the thread count") {
  // 8 -> 16: the feature gradient gathers then multiplies; 4 -> 32 (DLF's conv0): it contracts
  // with the filter first (kernels::cconv_feature_grad_contracts_first).
  for (const Index cin : {8, 4}) {
  CAPTURE(cin);
  manual_seed(8);
  const Tensor pos = lattice(9, 0.05f, 0.005f, 11);
  const Index n = pos.dim(0);
  ContinuousConv conv(dlf_options(128 / cin).in_channels(cin));
  const Tensor f0 = uniform({n, cin}, -1.0f, 1.0f, 12);
  auto run = [&](int threads) {
    set_num_threads(threads);
    Tensor p = pos.clone().set_requires_grad(true);
    Tensor f = f0.clone().set_requires_grad(true);
    conv.zero_grad();
    Tensor y = conv(f, p, p, 0.225f);
    backward(sum(mul(y, y)));
    std::vector<Tensor> r = {y.detach().clone(), f.grad().clone(), p.grad().clone(), conv.kernel().grad().clone()};
    set_num_threads(0);
    return r;
  };
  const auto a = run(1);
  const auto b = run(2);
  for (size_t i = 0; i < a.size(); ++i) CHECK_MESSAGE(bitwise_equal(a[i], b[i]), "output " << i);
  }
}

}  // namespace
}  // namespace lagrad
