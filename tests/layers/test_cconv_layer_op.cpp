// Quick sanity tests of the continuous_conv op (the exhaustive comparison against the double
// reference lives in the cconv reference tests): a direct-loop forward, gradients of every
// input by finite differences, the transpose as the adjoint, argument errors, determinism.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "core/random.h"
#include "core/tape.h"
#include "gradcheck.h"
#include "layers/continuous_conv_op.h"
#include "layers/kernels/cconv_geometry.h"
#include "test_cconv_layer_kinks.h"

namespace lagrad {
namespace {

struct OpCase {
  Index M = 4, N = 5, cin = 3, cout = 2, kd = 3, kh = 2, kw = 4;
  Tensor filters, out_pos, inp_pos, feats, extents, offset, inp_imp, nb_imp;
  IndexVector index, splits;
};

// All pairs within distance 0.45 (shared extent 1): positions in [0, 0.6]^3.
OpCase make_case(std::uint64_t seed, bool per_axis_extents = false) {
  OpCase c;
  Rng rng(seed);
  auto fill = [&](Shape s, float lo, float hi) {
    Tensor t(s);
    for (Index k = 0; k < t.numel(); ++k) t.data()[k] = rng.uniform(lo, hi);
    return t;
  };
  c.filters = fill({c.kd, c.kh, c.kw, c.cin, c.cout}, -1.0f, 1.0f);
  c.out_pos = fill({c.M, 3}, 0.0f, 0.6f);
  c.inp_pos = fill({c.N, 3}, 0.0f, 0.6f);
  c.feats = fill({c.N, c.cin}, -1.0f, 1.0f);
  c.extents = per_axis_extents ? fill({c.M, 3}, 1.0f, 1.4f) : fill({c.M}, 1.0f, 1.4f);
  c.offset = Tensor::from_vector({3}, {0.1f, -0.2f, 0.15f});
  c.inp_imp = fill({c.N}, 0.5f, 1.5f);
  c.splits.push_back(0);
  for (Index j = 0; j < c.M; ++j) {
    for (Index i = 0; i < c.N; ++i) {
      float d2 = 0.0f;
      for (int a = 0; a < 3; ++a) {
        const float d = c.inp_pos.data()[3 * i + a] - c.out_pos.data()[3 * j + a];
        d2 += d * d;
      }
      if (d2 <= 0.45f * 0.45f) c.index.push_back(i);
    }
    c.splits.push_back(static_cast<Index>(c.index.size()));
  }
  c.nb_imp = fill({static_cast<Index>(c.index.size())}, 0.5f, 1.5f);
  return c;
}

// Distance of the case's edges from the kinks of the filter function.
double kink_margin(const OpCase& c, const CConvOpOptions& opt) {
  kernels::CConvGeometry g;
  g.mapping = opt.coordinate_mapping;
  g.interpolation = opt.interpolation;
  g.align_corners = opt.align_corners;
  g.k[0] = static_cast<int>(c.kw);
  g.k[1] = static_cast<int>(c.kh);
  g.k[2] = static_cast<int>(c.kd);
  for (int a = 0; a < 3; ++a) g.offset[a] = c.offset.data()[a];
  return testing::cconv_kink_margin(g, c.inp_pos.data(), c.out_pos.data(), c.extents.data(), c.extents.rank() == 2,
                                    c.index, c.splits);
}

// A case whose edges all stay at least 0.02 away from the kinks.
OpCase make_smooth_case(std::uint64_t seed, const CConvOpOptions& opt, bool per_axis) {
  for (std::uint64_t s = seed;; s += 7919) {
    OpCase c = make_case(s, per_axis);
    if (kink_margin(c, opt) > 0.02) return c;
  }
}

CConvInputs inputs_of(const OpCase& c) {
  CConvInputs in;
  in.filters = c.filters;
  in.out_positions = c.out_pos;
  in.extents = c.extents;
  in.offset = c.offset;
  in.inp_positions = c.inp_pos;
  in.inp_features = c.feats;
  in.inp_importance = c.inp_imp;
  in.neighbors_index = &c.index;
  in.neighbors_row_splits = &c.splits;
  in.neighbors_importance = c.nb_imp;
  return in;
}

// Direct loops in double: identity mapping, linear interpolation, align_corners (formulas of
// docs/continuous_conv.md).
std::vector<double> naive_identity_conv(const OpCase& c, bool normalize) {
  std::vector<double> out(static_cast<size_t>(c.M * c.cout), 0.0);
  const Index k[3] = {c.kw, c.kh, c.kd};
  for (Index j = 0; j < c.M; ++j) {
    double psi = 0.0;
    for (Index e = c.splits[j]; e < c.splits[j + 1]; ++e) psi += c.nb_imp.data()[e];
    for (Index e = c.splits[j]; e < c.splits[j + 1]; ++e) {
      const Index i = c.index[e];
      double v[3];
      for (int a = 0; a < 3; ++a) {
        const double r = double(c.inp_pos.data()[3 * i + a]) - c.out_pos.data()[3 * j + a];
        v[a] = (r / c.extents.data()[j] + 0.5) * double(k[a] - 1);
        v[a] = std::min(std::max(v[a], 0.0), double(k[a] - 1));
      }
      int i0[3];
      double fr[3];
      for (int a = 0; a < 3; ++a) {
        i0[a] = std::min(static_cast<int>(v[a]), static_cast<int>(k[a]) - 1);
        fr[a] = v[a] - i0[a];
      }
      const double s = double(c.nb_imp.data()[e]) * c.inp_imp.data()[i] / (normalize ? psi : 1.0);
      for (int corner = 0; corner < 8; ++corner) {
        Index idx[3];
        double w = 1.0;
        for (int a = 0; a < 3; ++a) {
          const bool hi = corner >> a & 1;
          idx[a] = std::min<Index>(i0[a] + (hi ? 1 : 0), k[a] - 1);
          w *= hi ? fr[a] : 1.0 - fr[a];
        }
        const Index cell = (idx[2] * c.kh + idx[1]) * c.kw + idx[0];
        for (Index o = 0; o < c.cout; ++o) {
          double acc = 0.0;
          for (Index ch = 0; ch < c.cin; ++ch)
            acc += double(c.feats.data()[i * c.cin + ch]) * c.filters.data()[(cell * c.cin + ch) * c.cout + o];
          out[j * c.cout + o] += s * w * acc;
        }
      }
    }
  }
  return out;
}

TEST_CASE("continuous_conv op: forward matches direct loops (identity mapping)") {
  for (bool normalize : {false, true}) {
    OpCase c = make_case(3);
    CConvOpOptions opt;
    opt.coordinate_mapping = CoordinateMapping::Identity;
    opt.normalize = normalize;
    NoGradGuard ng;
    const Tensor out = continuous_conv(inputs_of(c), opt);
    REQUIRE(out.shape() == Shape{c.M, c.cout});
    const std::vector<double> ref = naive_identity_conv(c, normalize);
    for (size_t k = 0; k < ref.size(); ++k) CHECK(out.data()[k] == doctest::Approx(ref[k]).epsilon(1e-4));
  }
}

// gradcheck wrt every input, on a case away from the kinks.
void check_all_grads(CConvOpOptions opt, bool transpose, bool per_axis) {
  OpCase c = make_smooth_case(11, opt, per_axis);
  if (transpose) c.feats = testing::random_input({c.M, c.cin}, 5);
  std::vector<Tensor> xs = {c.filters, c.feats,   c.inp_pos, c.out_pos,
                            c.extents, c.inp_imp, c.nb_imp,  c.offset};
  for (auto& t : xs) t.set_requires_grad(true);
  auto f = [&](const std::vector<Tensor>& in) {
    CConvInputs ci;
    ci.filters = in[0];
    ci.inp_features = in[1];
    ci.inp_positions = in[2];
    ci.out_positions = in[3];
    ci.extents = in[4];
    ci.inp_importance = in[5];
    ci.neighbors_importance = in[6];
    ci.offset = in[7];
    ci.neighbors_index = &c.index;
    ci.neighbors_row_splits = &c.splits;
    return transpose ? continuous_conv_transpose(ci, opt) : continuous_conv(ci, opt);
  };
  testing::GradcheckOptions g;
  g.set_eps(1e-3).set_atol(2e-3).set_rtol(2e-2);
  g.set_names({"filters", "inp_features", "inp_positions", "out_positions", "extents", "inp_importance",
               "neighbors_importance", "offset"});
  const auto r = testing::gradcheck(f, xs, g);
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("continuous_conv op: gradients of every input") {
  CConvOpOptions opt;
  SUBCASE("identity, linear_border, normalize, offset") {
    opt.coordinate_mapping = CoordinateMapping::Identity;
    opt.interpolation = Interpolation::LinearBorder;
    opt.align_corners = false;
    opt.normalize = true;
    check_all_grads(opt, false, false);
  }
  SUBCASE("ball_to_cube_radial, linear") {
    opt.coordinate_mapping = CoordinateMapping::BallToCubeRadial;
    check_all_grads(opt, false, false);
  }
  SUBCASE("volume preserving, per-axis extents, normalize") {
    opt.coordinate_mapping = CoordinateMapping::BallToCubeVolumePreserving;
    opt.normalize = true;
    check_all_grads(opt, false, true);
  }
  SUBCASE("transpose, volume preserving, normalize") {
    opt.coordinate_mapping = CoordinateMapping::BallToCubeVolumePreserving;
    opt.normalize = true;
    check_all_grads(opt, true, false);
  }
}

}  // namespace
}  // namespace lagrad
