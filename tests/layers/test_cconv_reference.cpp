// The double-precision continuous-convolution reference (hand-computed cases, properties of
// the coordinate mappings, the transpose being the adjoint of the forward), then the fast
// float32 op against it: every option combination, gradients of every input, and the DLF
// configuration on a particle block.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "cconv_reference.h"
#include "core/random.h"
#include "core/tape.h"
#include "layers/continuous_conv_op.h"
#include "layers/kernels/cconv_kernels.h"

namespace lagrad {
namespace {

using cconv_ref::ExtentKind;
using cconv_ref::Problem;
using cconv_ref::Vec3;

constexpr double kPi = 3.14159265358979323846;

double max_abs(const Vec3& v) { return std::max({std::abs(v[0]), std::abs(v[1]), std::abs(v[2])}); }

CConvOpOptions make_options(CoordinateMapping m, Interpolation i, bool align, bool normalize) {
  CConvOpOptions o;
  o.coordinate_mapping = m;
  o.interpolation = i;
  o.align_corners = align;
  o.normalize = normalize;
  return o;
}

// A problem with one output point at the origin and the given input points, 1 in channel,
// 1 out channel, filter value = 1 + linear voxel index (so every voxel is distinguishable).
Problem single_output_problem(Index kd, Index kh, Index kw, double extent,
                              const std::vector<Vec3>& inputs) {
  Problem p;
  p.kd = kd, p.kh = kh, p.kw = kw, p.in_channels = 1, p.out_channels = 1;
  for (Index s = 0; s < kd * kh * kw; ++s) p.filters.push_back(1.0 + static_cast<double>(s));
  p.out_positions = {0.0, 0.0, 0.0};
  for (const Vec3& x : inputs) p.inp_positions.insert(p.inp_positions.end(), x.begin(), x.end());
  p.extents = {extent};
  p.neighbors_row_splits = {0, static_cast<Index>(inputs.size())};
  for (Index i = 0; i < static_cast<Index>(inputs.size()); ++i) p.neighbors_index.push_back(i);
  return p;
}

double voxel_value(Index kh, Index kw, Index z, Index y, Index x) {
  return 1.0 + static_cast<double>((z * kh + y) * kw + x);
}

// --- random problems ------------------------------------------------------------------------

using cconv_ref::ProblemSpec;
using cconv_ref::random_problem;
using cconv_ref::random_values;

double uniform(Rng& rng, double lo, double hi) {
  return static_cast<double>(rng.uniform(static_cast<float>(lo), static_cast<float>(hi)));
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (size_t k = 0; k < a.size(); ++k) s += a[k] * b[k];
  return s;
}

const CoordinateMapping kMappings[] = {CoordinateMapping::BallToCubeRadial,
                                       CoordinateMapping::BallToCubeVolumePreserving,
                                       CoordinateMapping::Identity};
const Interpolation kInterpolations[] = {Interpolation::Linear, Interpolation::LinearBorder,
                                         Interpolation::NearestNeighbor};
const ExtentKind kExtentKinds[] = {ExtentKind::Shared, ExtentKind::PerPoint, ExtentKind::PerAxis,
                                   ExtentKind::SharedPerAxis};
const Index kKernels[][3] = {{3, 3, 3}, {4, 4, 4}, {2, 3, 4}};

// --- hand-computed cases --------------------------------------------------------------------

TEST_CASE("cconv_reference: identity + nearest, align_corners off, odd kernel") {
  // n = 3, extent 3: one voxel per unit, v = d + 1. d = (1, 0, -1) -> voxel x=2, y=1, z=0.
  Problem p = single_output_problem(3, 3, 3, 3.0, {{1.0, 0.0, -1.0}});
  const auto opt = make_options(CoordinateMapping::Identity, Interpolation::NearestNeighbor,
                                false, false);
  const std::vector<double> out = cconv_ref::continuous_conv(p, {2.0}, opt);
  CHECK(out[0] == doctest::Approx(2.0 * voxel_value(3, 3, 0, 1, 2)));
  // The offset shifts in voxel units after the mapping: -1 in x moves to x = 1; in z,
  // 0 - 0.6 rounds to -1, which is clamped to 0.
  p.offset = {-1.0, 0.0, -0.6};
  CHECK(cconv_ref::continuous_conv(p, {2.0}, opt)[0] ==
        doctest::Approx(2.0 * voxel_value(3, 3, 0, 1, 1)));
}

TEST_CASE("cconv_reference: align_corners ignores the offset") {
  Problem p = single_output_problem(3, 3, 3, 2.0, {{0.5, 0.0, 0.0}});
  const auto opt = make_options(CoordinateMapping::Identity, Interpolation::Linear, true, false);
  // n = 3, extent 2, align_corners: v = (d/2 + 0.5) * 2 = d + 1 -> (1.5, 1, 1).
  const double expected = 0.5 * voxel_value(3, 3, 1, 1, 1) + 0.5 * voxel_value(3, 3, 1, 1, 2);
  CHECK(cconv_ref::continuous_conv(p, {1.0}, opt)[0] == doctest::Approx(expected));
  p.offset = {0.3, -0.7, 0.9};
  CHECK(cconv_ref::continuous_conv(p, {1.0}, opt)[0] == doctest::Approx(expected));
}

TEST_CASE("cconv_reference: even kernel, center and rounding half away from zero") {
  // n = 4, align_corners off: v = (d/ext + 0.5) * 4 - 0.5; d = 0 -> v = 1.5 -> rounds to 2.
  Problem p = single_output_problem(4, 4, 4, 1.0, {{0.0, 0.0, 0.0}});
  const auto opt = make_options(CoordinateMapping::Identity, Interpolation::NearestNeighbor,
                                false, false);
  CHECK(cconv_ref::continuous_conv(p, {1.0}, opt)[0] == doctest::Approx(voxel_value(4, 4, 2, 2, 2)));
  p.offset = {-0.5, -0.5, 0.5};  // v = (1, 1, 2)
  CHECK(cconv_ref::continuous_conv(p, {1.0}, opt)[0] == doctest::Approx(voxel_value(4, 4, 2, 1, 1)));
  // Linear at v = 1.5 on every axis: the mean of the 8 central voxels.
  p.offset = {0.0, 0.0, 0.0};
  const auto lin = make_options(CoordinateMapping::Identity, Interpolation::Linear, false, false);
  double mean = 0.0;
  for (Index z = 1; z <= 2; ++z)
    for (Index y = 1; y <= 2; ++y)
      for (Index x = 1; x <= 2; ++x) mean += voxel_value(4, 4, z, y, x) / 8.0;
  CHECK(cconv_ref::continuous_conv(p, {1.0}, lin)[0] == doctest::Approx(mean));
}

TEST_CASE("cconv_reference: non-cubic kernel index order is z, y, x") {
  // Filter [kd=2, kh=3, kw=4], identity, align_corners, extent 2: v = (d/2 + 0.5) * (n - 1).
  // d = (1, -1, 1): v = (3, 0, 1) -> x = 3, y = 0, z = 1.
  Problem p = single_output_problem(2, 3, 4, 2.0, {{1.0, -1.0, 1.0}});
  const auto opt = make_options(CoordinateMapping::Identity, Interpolation::Linear, true, false);
  CHECK(cconv_ref::continuous_conv(p, {1.0}, opt)[0] == doctest::Approx(voxel_value(3, 4, 1, 0, 3)));
}

TEST_CASE("cconv_reference: linear clamps, linear_border fades to zero outside") {
  // n = 3, extent 2, align_corners: v = d + 1. d = (-1.25, 0, 0) -> v = (-0.25, 1, 1).
  Problem p = single_output_problem(3, 3, 3, 2.0, {{-1.25, 0.0, 0.0}});
  auto opt = make_options(CoordinateMapping::Identity, Interpolation::Linear, true, false);
  CHECK(cconv_ref::continuous_conv(p, {1.0}, opt)[0] == doctest::Approx(voxel_value(3, 3, 1, 1, 0)));
  opt.interpolation = Interpolation::LinearBorder;
  CHECK(cconv_ref::continuous_conv(p, {1.0}, opt)[0] ==
        doctest::Approx(0.75 * voxel_value(3, 3, 1, 1, 0)));
  // Beyond one voxel outside: nothing.
  p.inp_positions = {-2.1, 0.0, 0.0};
  CHECK(cconv_ref::continuous_conv(p, {1.0}, opt)[0] == 0.0);
  opt.interpolation = Interpolation::Linear;
  CHECK(cconv_ref::continuous_conv(p, {1.0}, opt)[0] == doctest::Approx(voxel_value(3, 3, 1, 1, 0)));
}

TEST_CASE("cconv_reference: radial mapping of a diagonal point") {
  // extent 2 -> q = d. d = (s, s, 0), |d| = 0.5: p = 0.5 * q * |q| / max|q| = (0.25, 0.25, 0).
  // n = 3 with align_corners: v = (p + 0.5) * 2 = (1.5, 1.5, 1) -> 4 voxels at 1/4 each.
  const double s = 0.5 / std::sqrt(2.0);
  Problem p = single_output_problem(3, 3, 3, 2.0, {{s, s, 0.0}});
  const auto opt =
      make_options(CoordinateMapping::BallToCubeRadial, Interpolation::Linear, true, false);
  const double expected = 0.25 * (voxel_value(3, 3, 1, 1, 1) + voxel_value(3, 3, 1, 1, 2) +
                                  voxel_value(3, 3, 1, 2, 1) + voxel_value(3, 3, 1, 2, 2));
  CHECK(cconv_ref::continuous_conv(p, {1.0}, opt)[0] == doctest::Approx(expected));
}

TEST_CASE("cconv_reference: importance and normalization") {
  // Two neighbors, n = 3, extent 3, nearest, align_corners off: v = d + 1.
  Problem p = single_output_problem(3, 3, 3, 3.0, {{0.0, 0.0, 0.0}, {1.0, 1.0, 1.0}});
  p.inp_importance = {2.0, -1.0};
  p.neighbors_importance = {0.5, 0.25};
  auto opt = make_options(CoordinateMapping::Identity, Interpolation::NearestNeighbor, false, false);
  const std::vector<double> f = {3.0, 5.0};
  const double raw = 0.5 * 2.0 * 3.0 * voxel_value(3, 3, 1, 1, 1) +
                     0.25 * -1.0 * 5.0 * voxel_value(3, 3, 2, 2, 2);
  CHECK(cconv_ref::continuous_conv(p, f, opt)[0] == doctest::Approx(raw));
  opt.normalize = true;  // psi = sum of neighbor importances only (0.75), not of inp_importance
  CHECK(cconv_ref::continuous_conv(p, f, opt)[0] == doctest::Approx(raw / 0.75));
  p.neighbors_importance.clear();  // psi = number of neighbors
  const double raw_count = 2.0 * 3.0 * voxel_value(3, 3, 1, 1, 1) - 5.0 * voxel_value(3, 3, 2, 2, 2);
  CHECK(cconv_ref::continuous_conv(p, f, opt)[0] == doctest::Approx(raw_count / 2.0));
  // Importances summing to exactly zero: Open3D leaves the row undivided.
  p.neighbors_importance = {0.5, -0.5};
  const double raw_zero = 0.5 * 2.0 * 3.0 * voxel_value(3, 3, 1, 1, 1) +
                          -0.5 * -1.0 * 5.0 * voxel_value(3, 3, 2, 2, 2);
  CHECK(cconv_ref::continuous_conv(p, f, opt)[0] == doctest::Approx(raw_zero));
}

TEST_CASE("cconv_reference: transpose of a hand case") {
  // Forward graph: output 0 at the origin lists inputs 0 and 1; the transpose sends output 0's
  // feature g back to inputs 0 and 1 through the same filter voxels, scaled by a_e / psi and m_i.
  Problem p = single_output_problem(3, 3, 3, 3.0, {{0.0, 0.0, 0.0}, {1.0, 1.0, 1.0}});
  p.inp_importance = {2.0, -1.0};
  p.neighbors_importance = {0.5, 0.25};
  const auto opt =
      make_options(CoordinateMapping::Identity, Interpolation::NearestNeighbor, false, true);
  const std::vector<double> z = cconv_ref::continuous_conv_transpose(p, {4.0}, opt);
  REQUIRE(z.size() == 2);
  CHECK(z[0] == doctest::Approx(2.0 * 0.5 / 0.75 * 4.0 * voxel_value(3, 3, 1, 1, 1)));
  CHECK(z[1] == doctest::Approx(-1.0 * 0.25 / 0.75 * 4.0 * voxel_value(3, 3, 2, 2, 2)));
}

// --- mapping properties ---------------------------------------------------------------------

TEST_CASE("cconv_reference: radial mapping sends the sphere of radius r to the cube shell r") {
  Rng rng(7);
  for (int t = 0; t < 200; ++t) {
    const Vec3 q = {uniform(rng, -1, 1), uniform(rng, -1, 1), uniform(rng, -1, 1)};
    const Vec3 m = cconv_ref::map_ball_to_cube_radial(q);
    const double norm = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2]);
    CHECK(max_abs(m) ==
          doctest::Approx(norm).epsilon(1e-12));
    // Same direction.
    const double scale = m[0] / q[0];
    CHECK(m[1] == doctest::Approx(scale * q[1]).epsilon(1e-12));
    CHECK(m[2] == doctest::Approx(scale * q[2]).epsilon(1e-12));
  }
}

TEST_CASE("cconv_reference: volume-preserving mapping has a constant Jacobian 6/pi") {
  // The unit ball (volume 4 pi / 3) fills the cube [-1, 1]^3 (volume 8) with a constant
  // Jacobian determinant 8 / (4 pi / 3) = 6 / pi, and the unit sphere lands on the cube surface.
  Rng rng(11);
  int checked = 0;
  for (int t = 0; t < 400 && checked < 100; ++t) {
    const Vec3 q = {uniform(rng, -1, 1), uniform(rng, -1, 1), uniform(rng, -1, 1)};
    const double xy = q[0] * q[0] + q[1] * q[1];
    const double n2 = xy + q[2] * q[2];
    // Stay off the branch switches (cone, diagonal planes, axis) and inside the ball.
    if (n2 > 0.9 || n2 < 0.01 || std::abs(1.25 * q[2] * q[2] - xy) < 0.02 ||
        std::abs(std::abs(q[0]) - std::abs(q[1])) < 0.02 || xy < 0.01)
      continue;
    const double h = 1e-6;
    double jac[3][3];
    for (int c = 0; c < 3; ++c) {
      Vec3 qp = q, qm = q;
      qp[c] += h, qm[c] -= h;
      const Vec3 mp = cconv_ref::map_ball_to_cube_volume_preserving(qp);
      const Vec3 mm = cconv_ref::map_ball_to_cube_volume_preserving(qm);
      for (int r = 0; r < 3; ++r) jac[r][c] = (mp[r] - mm[r]) / (2 * h);
    }
    const double det = jac[0][0] * (jac[1][1] * jac[2][2] - jac[1][2] * jac[2][1]) -
                       jac[0][1] * (jac[1][0] * jac[2][2] - jac[1][2] * jac[2][0]) +
                       jac[0][2] * (jac[1][0] * jac[2][1] - jac[1][1] * jac[2][0]);
    CHECK(det == doctest::Approx(6.0 / kPi).epsilon(1e-6));
    const double n = std::sqrt(n2);
    const Vec3 on_sphere = cconv_ref::map_ball_to_cube_volume_preserving({q[0] / n, q[1] / n, q[2] / n});
    CHECK(max_abs(on_sphere) ==
          doctest::Approx(1.0).epsilon(1e-12));
    ++checked;
  }
  CHECK(checked == 100);
}

TEST_CASE("cconv_reference: the mappings are continuous across their branch switches") {
  // Points on the switching surfaces, evaluated a hair to either side.
  const double eps = 1e-9;
  const double zc = std::sqrt(0.3 / 1.25);  // 1.25 z^2 == x^2 + y^2 with x^2 + y^2 = 0.3
  const std::vector<Vec3> on_switch = {{std::sqrt(0.15), std::sqrt(0.15), 0.2},  // |x| == |y|
                                       {std::sqrt(0.2), std::sqrt(0.1), zc},     // the cone
                                       {0.3, -0.3, -0.5}};
  for (const Vec3& q : on_switch)
    for (int axis = 0; axis < 3; ++axis) {
      Vec3 a = q, b = q;
      a[axis] -= eps, b[axis] += eps;
      for (auto map : {cconv_ref::map_ball_to_cube_volume_preserving, cconv_ref::map_ball_to_cube_radial}) {
        const Vec3 ma = map(a), mb = map(b);
        for (int k = 0; k < 3; ++k) CHECK(std::abs(ma[k] - mb[k]) < 1e-7);
      }
    }
}

TEST_CASE("cconv_reference: identity and the ball mappings agree on the axes") {
  const CConvOpOptions id = make_options(CoordinateMapping::Identity, Interpolation::Linear, true, false);
  for (auto m : {CoordinateMapping::BallToCubeRadial, CoordinateMapping::BallToCubeVolumePreserving}) {
    CConvOpOptions o = id;
    o.coordinate_mapping = m;
    for (int axis = 0; axis < 3; ++axis) {
      Vec3 d = {0.0, 0.0, 0.0};
      d[axis] = -0.17;
      const Vec3 a = cconv_ref::filter_coordinates(d, {0.5, 0.6, 0.7}, {3, 4, 5}, {0, 0, 0}, id);
      const Vec3 b = cconv_ref::filter_coordinates(d, {0.5, 0.6, 0.7}, {3, 4, 5}, {0, 0, 0}, o);
      for (int k = 0; k < 3; ++k) CHECK(a[k] == doctest::Approx(b[k]).epsilon(1e-12));
    }
  }
}

TEST_CASE("cconv_reference: align_corners off equals Open3D's floor(n/2) form for any n") {
  // v = p n + offset + floor(n/2) - (n even ? 1/2 : 0) written out, against the reference.
  const CConvOpOptions o = make_options(CoordinateMapping::Identity, Interpolation::Linear, false, false);
  for (Index n = 1; n <= 6; ++n) {
    const Vec3 d = {0.11, -0.23, 0.04};
    const Vec3 ext = {0.5, 0.5, 0.5};
    const Vec3 off = {0.25, -0.5, 0.1};
    const Vec3 v = cconv_ref::filter_coordinates(d, ext, {n, n, n}, off, o);
    for (int k = 0; k < 3; ++k) {
      const double expected = d[k] / ext[k] * n + off[k] + static_cast<double>(n / 2) -
                              (n % 2 == 0 ? 0.5 : 0.0);
      CHECK(v[k] == doctest::Approx(expected).epsilon(1e-12));
    }
  }
}

// --- the transpose is the adjoint ------------------------------------------------------------

TEST_CASE("cconv_reference: transpose is the adjoint of the forward for every option") {
  Rng rng(2024);
  int combos = 0;
  for (auto mapping : kMappings)
    for (auto interpolation : kInterpolations)
      for (bool align : {false, true})
        for (bool normalize : {false, true})
          for (auto extent_kind : kExtentKinds)
            for (const auto& k : kKernels)
              for (int importance = 0; importance < 4; ++importance) {
                ProblemSpec s;
                s.kd = k[0], s.kh = k[1], s.kw = k[2];
                s.extent_kind = extent_kind;
                s.inp_importance = importance & 1;
                s.neighbors_importance = importance & 2;
                s.offset = importance == 3;
                s.num_inp = 30, s.num_out = 12, s.box = 0.8;
                const Problem p = random_problem(s, rng);
                const auto opt = make_options(mapping, interpolation, align, normalize);
                const std::vector<double> f = random_values(s.num_inp * s.in_channels, rng);
                const std::vector<double> g = random_values(s.num_out * s.out_channels, rng);
                Problem pt = p;  // W' with in and out swapped: maps out-channel g to in-channels
                pt.filters = cconv_ref::swap_filter_channels(p);
                pt.in_channels = p.out_channels, pt.out_channels = p.in_channels;
                const std::vector<double> y = cconv_ref::continuous_conv(p, f, opt);
                const double lhs = dot(y, g);
                const double rhs = dot(f, cconv_ref::continuous_conv_transpose(pt, g, opt));
                INFO("mapping ", to_string(mapping), " interpolation ", to_string(interpolation),
                     " align ", align, " normalize ", normalize, " importance ", importance);
                CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
                CHECK(dot(y, y) > 1e-3);  // not trivially zero
                ++combos;
              }
  CHECK(combos == 3 * 3 * 2 * 2 * 4 * 3 * 4);
}

TEST_CASE("cconv_reference: brute-force search is inclusive and sorted") {
  const std::vector<double> pts = {0, 0, 0, 1, 0, 0, 0.5, 0, 0, 3, 3, 3};
  const cconv_ref::NeighborList nl = cconv_ref::brute_force_radius_search(pts, {0, 0, 0, 9, 9, 9}, {1.0, 1.0});
  CHECK(nl.row_splits == IndexVector{0, 3, 3});
  CHECK(nl.index == IndexVector{0, 1, 2});
  CHECK(nl.distance_sqr[2] == doctest::Approx(0.25));
}

// =============================================================================================
// The fast float32 op against the reference.
// =============================================================================================

Tensor to_tensor(const Shape& shape, const std::vector<double>& values) {
  return Tensor::from_vector(shape, std::vector<float>(values.begin(), values.end()));
}

// The extents tensor in one of the shapes the op accepts for the problem's kind; `alt` picks
// the second spelling where there is one (rank 0 instead of [1], [M, 1] instead of [M]).
Tensor extents_tensor(const Problem& p, bool alt) {
  switch (p.extent_kind) {
    case ExtentKind::Shared:
      return alt ? Tensor::scalar(static_cast<float>(p.extents[0])) : to_tensor({1}, p.extents);
    case ExtentKind::PerPoint:
      return alt ? to_tensor({p.num_out(), 1}, p.extents) : to_tensor({p.num_out()}, p.extents);
    case ExtentKind::PerAxis:
      return to_tensor({p.num_out(), 3}, p.extents);
    case ExtentKind::SharedPerAxis:
      break;
  }
  return to_tensor({1, 3}, p.extents);
}

// The op's inputs for problem p; features are [N, in] (forward) or [M, in] (transpose). The
// neighbor arrays are borrowed from p, which must outlive the call. `alt` spells the extents
// the other way and leaves a zero offset undefined (the op reads it as zeros).
CConvInputs op_inputs(const Problem& p, const std::vector<double>& features, bool transpose,
                      bool alt) {
  CConvInputs in;
  in.filters = to_tensor({p.kd, p.kh, p.kw, p.in_channels, p.out_channels}, p.filters);
  in.out_positions = to_tensor({p.num_out(), 3}, p.out_positions);
  in.extents = extents_tensor(p, alt);
  const bool zero_offset = p.offset[0] == 0.0 && p.offset[1] == 0.0 && p.offset[2] == 0.0;
  if (!(alt && zero_offset)) in.offset = to_tensor({3}, {p.offset[0], p.offset[1], p.offset[2]});
  in.inp_positions = to_tensor({p.num_inp(), 3}, p.inp_positions);
  in.inp_features =
      to_tensor({transpose ? p.num_out() : p.num_inp(), p.in_channels}, features);
  if (!p.inp_importance.empty()) in.inp_importance = to_tensor({p.num_inp()}, p.inp_importance);
  in.neighbors_index = &p.neighbors_index;
  in.neighbors_row_splits = &p.neighbors_row_splits;
  if (!p.neighbors_importance.empty())
    in.neighbors_importance = to_tensor({p.num_entries()}, p.neighbors_importance);
  return in;
}

std::vector<double> reference(const Problem& p, const std::vector<double>& f,
                              const CConvOpOptions& o, bool transpose) {
  return transpose ? cconv_ref::continuous_conv_transpose(p, f, o)
                   : cconv_ref::continuous_conv(p, f, o);
}

// An upper bound of |each output| (the same sum with every factor replaced by its absolute
// value), the scale for the float32 tolerance.
std::vector<double> magnitude(Problem p, std::vector<double> f, const CConvOpOptions& o,
                              bool transpose) {
  for (double& v : p.filters) v = std::abs(v);
  for (double& v : p.inp_importance) v = std::abs(v);
  for (double& v : f) v = std::abs(v);
  return reference(p, f, o, transpose);
}

// Empty when every |got - expected| <= rtol * magnitude + atol; else the worst element.
std::string compare(const std::vector<float>& got, const std::vector<double>& expected,
                    const std::vector<double>& mag, Index cols, double rtol, double atol) {
  if (got.size() != expected.size())
    return "size " + std::to_string(got.size()) + " != expected " + std::to_string(expected.size());
  double worst = 0.0;
  size_t at = 0;
  for (size_t k = 0; k < got.size(); ++k) {
    const double excess = std::abs(got[k] - expected[k]) - (rtol * mag[k] + atol);
    if (excess > worst) worst = excess, at = k;
  }
  if (worst <= 0.0) return "";
  std::ostringstream s;
  s << "row " << static_cast<Index>(at) / cols << " col " << static_cast<Index>(at) % cols
    << ": expected " << expected[at] << ", got " << got[at] << " (magnitude " << mag[at] << ")";
  return s.str();
}

std::string describe(const CConvOpOptions& o, const Problem& p, int importance, bool transpose) {
  static const char* kinds[] = {"shared", "per-point", "per-axis", "shared-per-axis"};
  std::ostringstream s;
  s << (transpose ? "transpose" : "forward") << " mapping=" << to_string(o.coordinate_mapping)
    << " interpolation=" << to_string(o.interpolation) << " align_corners=" << o.align_corners
    << " normalize=" << o.normalize << " inp_importance=" << ((importance & 1) != 0)
    << " neighbors_importance=" << ((importance & 2) != 0)
    << " extents=" << kinds[static_cast<int>(p.extent_kind)] << " kernel=" << p.kd << "x" << p.kh
    << "x" << p.kw << " offset=(" << p.offset[0] << "," << p.offset[1] << "," << p.offset[2] << ")";
  return s.str();
}

TEST_CASE("cconv_reference: the op matches the reference for every option combination") {
  Rng rng(99);
  std::vector<std::string> failures;
  int combos = 0;
  for (auto mapping : kMappings)
    for (auto interpolation : kInterpolations)
      for (bool align : {false, true})
        for (bool normalize : {false, true})
          for (int importance = 0; importance < 4; ++importance)
            for (auto extent_kind : kExtentKinds)
              for (const auto& k : kKernels)
                for (bool offset : {false, true}) {
                  ProblemSpec s;
                  s.kd = k[0], s.kh = k[1], s.kw = k[2];
                  s.extent_kind = extent_kind;
                  s.inp_importance = importance & 1;
                  s.neighbors_importance = importance & 2;
                  s.offset = offset;
                  s.num_inp = 50, s.num_out = 30;
                  Problem p = random_problem(s, rng);
                  const auto opt = make_options(mapping, interpolation, align, normalize);
                  // nearest_neighbor jumps at half voxels; keep float rounding off them.
                  cconv_ref::drop_entries(p, [&](Index j, Index e) {
                    return cconv_ref::near_jump(p, j, e, opt, 1e-4);
                  });
                  for (bool transpose : {false, true}) {
                    const Index rows = transpose ? s.num_out : s.num_inp;
                    const std::vector<double> f = random_values(rows * s.in_channels, rng);
                    const CConvInputs in = op_inputs(p, f, transpose, (combos / 4) % 2 == 1);
                    const Tensor got = transpose ? continuous_conv_transpose(in, opt)
                                                 : continuous_conv(in, opt);
                    const Index out_rows = transpose ? s.num_inp : s.num_out;
                    std::string err;
                    if (got.shape() != Shape{out_rows, s.out_channels}) {
                      err = "shape " + shape_str(got.shape());
                    } else {
                      err = compare(got.to_vector(), reference(p, f, opt, transpose),
                                    magnitude(p, f, opt, transpose), s.out_channels, 1e-5, 1e-6);
                    }
                    if (!err.empty()) failures.push_back(describe(opt, p, importance, transpose) + ": " + err);
                    ++combos;
                  }
                }
  for (size_t k = 0; k < failures.size() && k < 12; ++k) MESSAGE(failures[k]);
  CHECK(combos == 2 * 3 * 3 * 2 * 2 * 4 * 4 * 3 * 2);
  CHECK_MESSAGE(failures.empty(), failures.size(), " of ", combos, " combinations differ");
}

TEST_CASE("cconv_reference: op with signed neighbor importances, one row summing to zero") {
  // Open3D divides only when psi != 0: a row whose importances cancel stays undivided.
  Rng rng(17);
  ProblemSpec s;
  s.neighbors_importance = true;
  s.num_inp = 50, s.num_out = 30;
  Problem p = random_problem(s, rng);
  Index zero_row = -1;
  for (Index j = 0; j < p.num_out() && zero_row < 0; ++j)
    if (p.neighbors_row_splits[j + 1] - p.neighbors_row_splits[j] >= 4) zero_row = j;
  REQUIRE(zero_row >= 0);
  for (Index e = 0; e < p.num_entries(); ++e) p.neighbors_importance[e] -= 0.55;  // signed
  const Index b = p.neighbors_row_splits[zero_row], n = p.neighbors_row_splits[zero_row + 1] - b;
  for (Index e = 0; e < n; ++e) p.neighbors_importance[b + e] = (e % 2 == 0 ? 0.75 : -0.75);
  if (n % 2 == 1) p.neighbors_importance[b + n - 1] = 0.0;
  REQUIRE(cconv_ref::row_normalizers(p)[zero_row] == 0.0);
  for (auto interpolation : kInterpolations)
    for (bool transpose : {false, true}) {
      const auto opt = make_options(CoordinateMapping::BallToCubeRadial, interpolation, true, true);
      cconv_ref::drop_entries(p, [&](Index j, Index e) {
        return j != zero_row && cconv_ref::near_jump(p, j, e, opt, 1e-4);
      });
      const std::vector<double> f =
          random_values((transpose ? p.num_out() : p.num_inp()) * p.in_channels, rng);
      const Tensor got = transpose ? continuous_conv_transpose(op_inputs(p, f, transpose, false), opt)
                                   : continuous_conv(op_inputs(p, f, transpose, false), opt);
      const std::vector<double> expected = reference(p, f, opt, transpose);
      const std::vector<float> g = got.to_vector();
      REQUIRE(g.size() == expected.size());
      double worst = 0.0;
      for (size_t k = 0; k < g.size(); ++k)
        worst = std::max(worst, std::abs(g[k] - expected[k]) / (1.0 + std::abs(expected[k])));
      INFO(to_string(interpolation), transpose ? " transpose" : " forward");
      CHECK(worst < 1e-4);
    }
}

// --- gradients: the op's backward against central differences of the double reference ------

struct GradInput {
  const char* name;
  Tensor tensor;                // the op's input (float)
  std::vector<double>* values;  // the same numbers in the reference problem
};

// One gradient check: the op's gradients of L = <out, R> for all its inputs, against central
// differences of L computed with the reference in double. Entries near kinks are removed first.
std::string check_gradients(Problem p, const CConvOpOptions& opt, bool transpose, Rng& rng) {
  cconv_ref::drop_entries(p, [&](Index j, Index e) { return cconv_ref::near_kink(p, j, e, opt, 1e-3); });
  const Index rows = transpose ? p.num_out() : p.num_inp();
  const Index out_rows = transpose ? p.num_inp() : p.num_out();
  std::vector<double> f = random_values(rows * p.in_channels, rng);
  std::vector<double> r = random_values(out_rows * p.out_channels, rng);

  Tape tape;
  TapeScope scope(tape);
  CConvInputs in = op_inputs(p, f, transpose, false);
  std::vector<double> offset(p.offset.begin(), p.offset.end());
  std::vector<GradInput> inputs = {{"filters", in.filters, &p.filters},
                                   {"inp_features", in.inp_features, &f},
                                   {"inp_importance", in.inp_importance, &p.inp_importance},
                                   {"neighbors_importance", in.neighbors_importance, &p.neighbors_importance},
                                   {"inp_positions", in.inp_positions, &p.inp_positions},
                                   {"out_positions", in.out_positions, &p.out_positions},
                                   {"extents", in.extents, &p.extents},
                                   {"offset", in.offset, &offset}};
  for (GradInput& g : inputs)
    if (g.tensor.defined()) g.tensor.set_requires_grad();
  const Tensor out = transpose ? continuous_conv_transpose(in, opt) : continuous_conv(in, opt);
  tape.backward(out, to_tensor(out.shape(), r));

  auto loss = [&]() {
    for (int k = 0; k < 3; ++k) p.offset[k] = offset[k];
    return dot(reference(p, f, opt, transpose), r);
  };
  std::ostringstream report;
  const double h = 1e-6;
  for (GradInput& g : inputs) {
    if (!g.tensor.defined()) continue;
    std::vector<float> analytic(g.values->size(), 0.0f);
    if (g.tensor.has_grad()) analytic = g.tensor.grad().to_vector();
    double worst = 0.0, scale = 0.0;
    size_t at = 0;
    std::vector<double> numeric(g.values->size());
    for (size_t k = 0; k < g.values->size(); ++k) {
      const double keep = (*g.values)[k];
      (*g.values)[k] = keep + h;
      const double plus = loss();
      (*g.values)[k] = keep - h;
      const double minus = loss();
      (*g.values)[k] = keep;
      numeric[k] = (plus - minus) / (2 * h);
      scale = std::max(scale, std::abs(numeric[k]));
    }
    for (size_t k = 0; k < numeric.size(); ++k) {
      const double err = std::abs(analytic[k] - numeric[k]);
      if (err > worst) worst = err, at = k;
    }
    if (worst > 1e-4 * std::max(1.0, scale))
      report << " " << g.name << "[" << at << "]: expected " << numeric[at] << ", got "
             << analytic[at] << " (max |grad| " << scale << ");";
  }
  return report.str();
}

TEST_CASE("cconv_reference: op gradients match finite differences of the reference") {
  Rng rng(5);
  std::vector<std::string> failures;
  int combos = 0;
  for (auto mapping : kMappings)
    for (auto interpolation : kInterpolations)
      for (bool align : {false, true})
        for (bool normalize : {false, true})
          for (int importance : {0, 3})
            for (bool transpose : {false, true}) {
              ProblemSpec s;
              const auto& k = kKernels[combos % 3];
              s.kd = k[0], s.kh = k[1], s.kw = k[2];
              s.extent_kind = kExtentKinds[(combos / 3) % 4];
              s.inp_importance = importance & 1;
              s.neighbors_importance = importance & 2;
              s.offset = true;
              s.num_inp = 20, s.num_out = 10, s.in_channels = 2, s.out_channels = 2, s.box = 0.6;
              const Problem p = random_problem(s, rng);
              const auto opt = make_options(mapping, interpolation, align, normalize);
              const std::string err = check_gradients(p, opt, transpose, rng);
              if (!err.empty()) failures.push_back(describe(opt, p, importance, transpose) + ":" + err);
              ++combos;
            }
  for (size_t k = 0; k < failures.size() && k < 12; ++k) MESSAGE(failures[k]);
  CHECK(combos == 3 * 3 * 2 * 2 * 2 * 2);
  CHECK_MESSAGE(failures.empty(), failures.size(), " of ", combos, " gradient checks differ");
}

// --- the DLF configuration on a particle block -------------------------------------------------

TEST_CASE("cconv_reference: DLF configuration on a jittered lattice block") {
  // DeepLagrangianFluids' fluid convolution: 4x4x4 filter, ball_to_cube_volume_preserving,
  // linear, align_corners, no normalization, poly6 window (1 - d^2/r^2)^3 as neighbor
  // importance, radius = extent / 2, the query point itself excluded.
  Rng rng(3);
  Problem p;
  p.kd = p.kh = p.kw = 4;
  p.in_channels = 4, p.out_channels = 32;
  const double spacing = 0.05;
  for (int z = 0; z < 8; ++z)
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x)
        for (int a : {x, y, z})
          p.inp_positions.push_back(static_cast<double>(
              static_cast<float>(a * spacing + uniform(rng, -0.01, 0.01))));
  p.out_positions = p.inp_positions;
  const double extent = static_cast<double>(static_cast<float>(1.5 * 6 * 0.025));
  p.extents = {extent};
  const double radius = 0.5 * extent;
  const cconv_ref::NeighborList nl = cconv_ref::brute_force_radius_search(
      p.inp_positions, p.out_positions, std::vector<double>(p.num_out(), radius));
  p.neighbors_row_splits = {0};
  for (Index j = 0; j < p.num_out(); ++j) {
    for (Index e = nl.row_splits[j]; e < nl.row_splits[j + 1]; ++e) {
      if (nl.index[e] == j) continue;
      const double t = 1.0 - nl.distance_sqr[e] / (radius * radius);
      p.neighbors_index.push_back(nl.index[e]);
      p.neighbors_importance.push_back(static_cast<float>(std::clamp(t * t * t, 0.0, 1.0)));
    }
    p.neighbors_row_splits.push_back(static_cast<Index>(p.neighbors_index.size()));
  }
  p.filters = random_values(64 * 4 * 32, rng);
  const std::vector<double> f = random_values(p.num_inp() * 4, rng);
  REQUIRE(p.num_out() == 512);
  CHECK(static_cast<double>(p.num_entries()) / 512.0 > 20.0);  // a realistic neighborhood

  const auto opt = make_options(CoordinateMapping::BallToCubeVolumePreserving,
                                Interpolation::Linear, true, false);
  const Tensor got = continuous_conv(op_inputs(p, f, false, false), opt);
  REQUIRE(got.shape() == Shape{512, 32});
  const std::string err = compare(got.to_vector(), cconv_ref::continuous_conv(p, f, opt),
                                  magnitude(p, f, opt, false), 32, 1e-5, 1e-6);
  CHECK_MESSAGE(err.empty(), err);
}

}  // namespace
}  // namespace lagrad

namespace lagrad {
namespace {

// The feature gradient of the op against the reference adjoint (the transpose conv with the
// filter's channels swapped, whose adjointness the reference tests check to 1e-12), for both of
// the kernel's algorithms: 4 -> 32 on 4x4x4 (contract with the filter first, then gather 4
// channels) and 3 -> 2 (gather, then GEMM); forward and transpose conv.
TEST_CASE("cconv_reference: feature gradients of both algorithms match the reference adjoint") {
  Rng rng(2024);
  for (const auto& ch : {std::array<Index, 2>{4, 32}, std::array<Index, 2>{3, 2}})
    for (bool transpose : {false, true}) {
      ProblemSpec s;
      s.kd = s.kh = s.kw = 4;
      s.in_channels = ch[0], s.out_channels = ch[1];
      s.neighbors_importance = true;
      s.num_inp = 50, s.num_out = 30;
      s.box = 0.6;
      Problem p = random_problem(s, rng);
      const auto opt = make_options(CoordinateMapping::BallToCubeVolumePreserving, Interpolation::Linear, true, false);
      CHECK(kernels::cconv_feature_grad_contracts_first(64, static_cast<int>(ch[0]), static_cast<int>(ch[1])) ==
            (ch[0] == 4));
      const Index in_rows = transpose ? s.num_out : s.num_inp, out_rows = transpose ? s.num_inp : s.num_out;
      const std::vector<double> f = random_values(in_rows * s.in_channels, rng);
      const std::vector<double> g = random_values(out_rows * s.out_channels, rng);
      CConvInputs in = op_inputs(p, f, transpose, false);
      in.inp_features.set_requires_grad(true);
      const Tensor y = transpose ? continuous_conv_transpose(in, opt) : continuous_conv(in, opt);
      backward(y, to_tensor({out_rows, s.out_channels}, g));
      // Expected: A^T g, from the reference op of the other direction with in/out swapped.
      Problem pt = p;
      pt.filters = cconv_ref::swap_filter_channels(p);
      pt.in_channels = p.out_channels, pt.out_channels = p.in_channels;
      std::vector<double> mag_g(g.size());
      for (size_t k = 0; k < g.size(); ++k) mag_g[k] = std::abs(g[k]);
      Problem pa = pt;
      for (double& v : pa.filters) v = std::abs(v);
      for (double& v : pa.inp_importance) v = std::abs(v);
      const std::vector<double> expected = reference(pt, g, opt, !transpose);
      const std::vector<double> mag = reference(pa, mag_g, opt, !transpose);
      INFO(ch[0], " -> ", ch[1], transpose ? " transpose" : " forward");
      const std::string err = compare(in.inp_features.grad().to_vector(), expected, mag, s.in_channels, 1e-5, 1e-6);
      CHECK_MESSAGE(err.empty(), err);
      double norm = 0.0;
      for (double v : expected) norm += v * v;
      CHECK(norm > 1e-3);  // not trivially zero
    }
}

}  // namespace
}  // namespace lagrad
