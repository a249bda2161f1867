// The double-precision continuous-convolution reference: hand-computed cases, properties of
// the coordinate mappings, and the transpose being the adjoint of the forward.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cconv_reference.h"
#include "core/random.h"

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

struct Spec {
  Index kd = 3, kh = 3, kw = 3;
  ExtentKind extent_kind = ExtentKind::Shared;
  bool inp_importance = false;
  bool neighbors_importance = false;
  bool offset = false;
  Index num_inp = 40, num_out = 24, in_channels = 2, out_channels = 3;
};

double uniform(Rng& rng, double lo, double hi) {
  return static_cast<double>(rng.uniform(static_cast<float>(lo), static_cast<float>(hi)));
}

// Random problem whose numbers are all exact floats (so the float op sees the same inputs).
// The last 3 output points and the last 2 input points are far away: empty rows and inputs
// nobody lists. The search radius is 0.6 * the largest extent so some neighbors fall outside
// the filter shape (exercising clamping and the zero border).
Problem random_problem(const Spec& s, Rng& rng) {
  Problem p;
  p.kd = s.kd, p.kh = s.kh, p.kw = s.kw;
  p.in_channels = s.in_channels, p.out_channels = s.out_channels;
  for (Index n = 0; n < s.kd * s.kh * s.kw * s.in_channels * s.out_channels; ++n)
    p.filters.push_back(uniform(rng, -1.0, 1.0));
  for (Index i = 0; i < s.num_inp; ++i)
    for (int k = 0; k < 3; ++k)
      p.inp_positions.push_back(i >= s.num_inp - 2 ? -5.0 - i : uniform(rng, 0.0, 1.0));
  for (Index j = 0; j < s.num_out; ++j)
    for (int k = 0; k < 3; ++k)
      p.out_positions.push_back(j >= s.num_out - 3 ? 5.0 + j : uniform(rng, 0.0, 1.0));
  p.extent_kind = s.extent_kind;
  switch (s.extent_kind) {
    case ExtentKind::Shared:
      p.extents = {0.5};
      break;
    case ExtentKind::PerPoint:
      for (Index j = 0; j < s.num_out; ++j) p.extents.push_back(uniform(rng, 0.4, 0.6));
      break;
    case ExtentKind::PerAxis:
      for (Index j = 0; j < 3 * s.num_out; ++j) p.extents.push_back(uniform(rng, 0.35, 0.65));
      break;
  }
  if (s.offset) p.offset = {0.3, -0.2, 0.45};
  std::vector<double> radii;
  for (Index j = 0; j < s.num_out; ++j) {
    const Vec3 e = p.extent_of(j);
    radii.push_back(0.6 * std::max({e[0], e[1], e[2]}));
  }
  const cconv_ref::NeighborList nl =
      cconv_ref::brute_force_radius_search(p.inp_positions, p.out_positions, radii);
  p.neighbors_index = nl.index;
  p.neighbors_row_splits = nl.row_splits;
  if (s.inp_importance)
    for (Index i = 0; i < s.num_inp; ++i) p.inp_importance.push_back(uniform(rng, -1.0, 1.0));
  if (s.neighbors_importance)
    for (Index e = 0; e < p.num_entries(); ++e)
      p.neighbors_importance.push_back(uniform(rng, 0.1, 1.0));
  return p;
}

std::vector<double> random_values(Index n, Rng& rng) {
  std::vector<double> v;
  for (Index k = 0; k < n; ++k) v.push_back(uniform(rng, -1.0, 1.0));
  return v;
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
const ExtentKind kExtentKinds[] = {ExtentKind::Shared, ExtentKind::PerPoint, ExtentKind::PerAxis};
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
                Spec s;
                s.kd = k[0], s.kh = k[1], s.kw = k[2];
                s.extent_kind = extent_kind;
                s.inp_importance = importance & 1;
                s.neighbors_importance = importance & 2;
                s.offset = importance == 3;
                s.num_inp = 20, s.num_out = 12;
                const Problem p = random_problem(s, rng);
                const auto opt = make_options(mapping, interpolation, align, normalize);
                const std::vector<double> f = random_values(s.num_inp * s.in_channels, rng);
                const std::vector<double> g = random_values(s.num_out * s.out_channels, rng);
                Problem pt = p;  // W' with in and out swapped: maps out-channel g to in-channels
                pt.filters = cconv_ref::swap_filter_channels(p);
                pt.in_channels = p.out_channels, pt.out_channels = p.in_channels;
                const double lhs = dot(cconv_ref::continuous_conv(p, f, opt), g);
                const double rhs = dot(f, cconv_ref::continuous_conv_transpose(pt, g, opt));
                INFO("mapping ", to_string(mapping), " interpolation ", to_string(interpolation),
                     " align ", align, " normalize ", normalize, " importance ", importance);
                CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
                CHECK(std::abs(lhs) > 1e-3);  // not trivially zero
                ++combos;
              }
  CHECK(combos == 3 * 3 * 2 * 2 * 3 * 3 * 4);
}

TEST_CASE("cconv_reference: brute-force search is inclusive and sorted") {
  const std::vector<double> pts = {0, 0, 0, 1, 0, 0, 0.5, 0, 0, 3, 3, 3};
  const cconv_ref::NeighborList nl = cconv_ref::brute_force_radius_search(pts, {0, 0, 0, 9, 9, 9}, {1.0, 1.0});
  CHECK(nl.row_splits == IndexVector{0, 3, 3});
  CHECK(nl.index == IndexVector{0, 1, 2});
  CHECK(nl.distance_sqr[2] == doctest::Approx(0.25));
}

}  // namespace
}  // namespace lagrad
