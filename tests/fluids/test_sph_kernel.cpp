// The SPH building blocks: cubic spline kernel, box surface sampling, Akinci volumes.
#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <tuple>

#include "fluids/sph/boundary.h"
#include "fluids/sph/sph_kernel.h"

using lagrad::sph::CubicSplineKernel;

TEST_CASE("sph kernel: unit integral, compact support, gradient matches finite differences") {
  const float h = 0.1f;
  const CubicSplineKernel k(h);
  // Integral over the ball: sum of 4 pi r^2 W(r) dr in double, midpoint rule.
  double integral = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double r = (i + 0.5) * h / n;
    integral += 4.0 * M_PI * r * r * k.value(static_cast<float>(r)) * (h / n);
  }
  CHECK(integral == doctest::Approx(1.0).epsilon(1e-4));
  CHECK(k.value(h) == 0.0f);
  CHECK(k.value(1.01f * h) == 0.0f);
  CHECK(k.grad_factor(1.01f * h) == 0.0f);
  CHECK(k.value(0.0f) == doctest::Approx(8.0 / (M_PI * h * h * h)));
  // d/dr W = grad_factor * r, on both polynomial pieces.
  for (float r : {0.013f, 0.031f, 0.049f, 0.062f, 0.087f}) {
    const double eps = 1e-5;
    const double fd = (k.value(static_cast<float>(r + eps)) - k.value(static_cast<float>(r - eps))) / (2 * eps);
    CHECK(k.grad_factor(r) * r == doctest::Approx(fd).epsilon(2e-3));
  }
}

TEST_CASE("sph kernel: a cubic lattice of spacing h/2 sums to about 1 / spacing^3") {
  // Why the fluid volume is (almost exactly) the lattice cell: sum_j W(x_j) d^3 ~ 1.
  const float d = 0.05f;
  const CubicSplineKernel k(2 * d);
  double sum = 0;
  for (int i = -2; i <= 2; ++i)
    for (int j = -2; j <= 2; ++j)
      for (int l = -2; l <= 2; ++l) sum += k.value(d * std::sqrt(float(i * i + j * j + l * l)));
  CHECK(sum * d * d * d == doctest::Approx(1.0).epsilon(1e-3));
}

TEST_CASE("sph boundary: box surface sampled once per grid point, unit normals into the box") {
  const Eigen::Vector3f lo(0, 0, 0), hi(1.0f, 0.5f, 0.3f);
  const auto b = lagrad::sph::sample_box_surface(lo, hi, 0.1f, /*inward=*/true);
  // Grid 10 x 5 x 3 cells: (11*6*4) points minus the (9*4*2) interior ones.
  CHECK(b.size() == 11 * 6 * 4 - 9 * 4 * 2);
  std::set<std::tuple<int, int, int>> seen;
  const Eigen::Vector3f center = 0.5f * (lo + hi);
  for (lagrad::Index i = 0; i < b.size(); ++i) {
    const Eigen::Vector3f p(b.positions[3 * i], b.positions[3 * i + 1], b.positions[3 * i + 2]);
    const Eigen::Vector3f nrm(b.normals[3 * i], b.normals[3 * i + 1], b.normals[3 * i + 2]);
    CHECK(nrm.norm() == doctest::Approx(1.0f));
    CHECK(nrm.dot(center - p) > 0.0f);  // into the box
    seen.insert({int(std::lround(p[0] * 100)), int(std::lround(p[1] * 100)), int(std::lround(p[2] * 100))});
  }
  CHECK(seen.size() == static_cast<size_t>(b.size()));
  const auto out = lagrad::sph::sample_box_surface(lo, hi, 0.1f, /*inward=*/false, /*open_bottom=*/true);
  for (lagrad::Index i = 0; i < out.size(); ++i) {
    const Eigen::Vector3f p(out.positions[3 * i], out.positions[3 * i + 1], out.positions[3 * i + 2]);
    const Eigen::Vector3f nrm(out.normals[3 * i], out.normals[3 * i + 1], out.normals[3 * i + 2]);
    CHECK(nrm.dot(center - p) < 0.0f);  // out of the obstacle
    CHECK(nrm[1] >= 0.0f);               // no downward normals: the bottom face is left out
  }
  CHECK(out.size() == b.size() - 9 * 2);  // the bottom face's interior points are gone
  CHECK_THROWS_WITH_AS(lagrad::sph::sample_box_surface(lo, hi, 0.0f, true),
                       "sample_box_surface: spacing must be positive, got 0.000000", std::invalid_argument);
}

TEST_CASE("sph boundary: Akinci volume is 1 / sum of the kernel over the boundary neighbors") {
  // A flat square grid of spacing s: interior particles all get the same volume, edge
  // particles (fewer neighbors) a larger one.
  const float s = 0.03f, h = 0.1f;
  std::vector<float> p;
  for (int i = 0; i < 15; ++i)
    for (int j = 0; j < 15; ++j) p.insert(p.end(), {s * i, 0.0f, s * j});
  const auto vol = lagrad::sph::boundary_volumes(p, h);
  const CubicSplineKernel k(h);
  double sum = 0;
  for (int i = -4; i <= 4; ++i)
    for (int j = -4; j <= 4; ++j) sum += k.value(s * std::sqrt(float(i * i + j * j)));
  const int center = 7 * 15 + 7;
  CHECK(vol[center] == doctest::Approx(1.0 / sum).epsilon(1e-5));
  CHECK(vol[0] > 1.5f * vol[center]);
}
