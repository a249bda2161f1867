// The benchmark metrics of fluids/metrics/ against direct double-precision twins written from
// their formulas (docs/datasets_and_metrics.md), and against closed-form cases.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <stdexcept>
#include <vector>

#include "fluids/generators/taylor_green.h"
#include "fluids/metrics/chamfer.h"
#include "fluids/metrics/density_error.h"
#include "fluids/metrics/kinetic_energy.h"
#include "fluids/metrics/mse_at_horizons.h"
#include "fluids/metrics/rollout_metrics.h"
#include "fluids/metrics/sinkhorn.h"

using namespace lagrad;

namespace {

std::vector<float> random_cloud(std::mt19937& rng, int n, int dim, float lo = 0.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> p(static_cast<std::size_t>(n * dim));
  for (float& v : p) v = u(rng);
  return p;
}

double dist2(const std::vector<float>& a, std::size_t i, const std::vector<float>& b, std::size_t j, int dim) {
  double s = 0.0;
  for (int k = 0; k < dim; ++k) {
    const double d = static_cast<double>(a[i * dim + k]) - b[j * dim + k];
    s += d * d;
  }
  return s;
}

// Twin: mean over a's points of the distance to the nearest point of b, all pairs.
double brute_mean_nearest(const std::vector<float>& a, const std::vector<float>& b, int dim) {
  const std::size_t n = a.size() / dim, m = b.size() / dim;
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < m; ++j) best = std::min(best, dist2(a, i, b, j, dim));
    sum += std::sqrt(best);
  }
  return sum / static_cast<double>(n);
}

// Twin: the poly6 window density, all pairs.
std::vector<double> brute_density(const std::vector<float>& p, int dim, double h) {
  const std::size_t n = p.size() / dim;
  std::vector<double> rho(n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      const double q = dist2(p, i, p, j, dim) / (h * h);
      if (q < 1.0) rho[i] += (1.0 - q) * (1.0 - q) * (1.0 - q);
    }
  return rho;
}

// Twin: entropic OT with the plain (not log-domain) Sinkhorn scaling u = a / K v, v = b / K^T u,
// K = exp(-C / eps), run for a fixed number of iterations; value = <f, a> + <g, b> with
// f = eps log u, g = eps log v. Only for eps large enough that K does not underflow.
double brute_entropic_ot(const std::vector<float>& x, const std::vector<float>& y, int dim, double eps, int iters) {
  const std::size_t n = x.size() / dim, m = y.size() / dim;
  std::vector<double> K(n * m), u(n, 1.0), v(m, 1.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < m; ++j) K[i * m + j] = std::exp(-dist2(x, i, y, j, dim) / eps);
  for (int it = 0; it < iters; ++it) {
    for (std::size_t i = 0; i < n; ++i) {
      double s = 0.0;
      for (std::size_t j = 0; j < m; ++j) s += K[i * m + j] * v[j];
      u[i] = (1.0 / n) / s;
    }
    for (std::size_t j = 0; j < m; ++j) {
      double s = 0.0;
      for (std::size_t i = 0; i < n; ++i) s += K[i * m + j] * u[i];
      v[j] = (1.0 / m) / s;
    }
  }
  // Potentials relative to the uniform weights: P_ij = a_i b_j exp((f_i + g_j - C_ij)/eps).
  double value = 0.0;
  for (std::size_t i = 0; i < n; ++i) value += eps * std::log(u[i] * n) / n;
  for (std::size_t j = 0; j < m; ++j) value += eps * std::log(v[j] * m) / m;
  return value;
}

}  // namespace

TEST_CASE("mse_at_horizons: per-frame MSE, horizon means and LagrangeBench's h < frames rule") {
  // 3 particles in 2D, 12 frames; frame t is off by (t + 1) * 0.1 in x for every particle.
  std::vector<std::vector<float>> gt, pred;
  for (int t = 0; t < 12; ++t) {
    std::vector<float> g{0.f, 0.f, 1.f, 0.f, 0.f, 1.f};
    std::vector<float> p = g;
    for (int i = 0; i < 3; ++i) p[2 * i] += 0.1f * static_cast<float>(t + 1);
    gt.push_back(g);
    pred.push_back(p);
  }
  const MseAtHorizons m = mse_at_horizons(pred, gt, 2);
  REQUIRE(m.per_frame.size() == 12);
  for (int t = 0; t < 12; ++t) {
    const double e = 0.1 * (t + 1);
    CHECK(m.per_frame[t] == doctest::Approx(e * e).epsilon(1e-6));
  }
  auto twin = [&](int h) {
    double s = 0.0;
    for (int t = 0; t < h; ++t) s += 0.01 * (t + 1) * (t + 1);
    return s / h;
  };
  CHECK(m.at_horizon.size() == 3);  // 1, 5, 10 < 12; 20, 50, 100 are not
  CHECK(m.at_horizon.at(1) == doctest::Approx(twin(1)).epsilon(1e-6));
  CHECK(m.at_horizon.at(5) == doctest::Approx(twin(5)).epsilon(1e-6));
  CHECK(m.at_horizon.at(10) == doctest::Approx(twin(10)).epsilon(1e-6));
  CHECK(m.full == doctest::Approx(twin(12)).epsilon(1e-6));

  // Periodic: 0.95 vs 0.05 in a box of length 1 is 0.1 apart, not 0.9.
  MseAtHorizonsOptions o;
  o.periodic_box = {1.0, 1.0};
  const MseAtHorizons p = mse_at_horizons({{0.95f, 0.5f}}, {{0.05f, 0.5f}}, 2, o);
  CHECK(p.per_frame[0] == doctest::Approx(0.01).epsilon(1e-5));
  CHECK_THROWS_WITH_AS(mse_at_horizons({{0.f, 0.f}}, {{0.f, 0.f, 1.f, 1.f}}, 2),
                       "mse_at_horizons: frame 0: prediction has 2 coordinates, ground truth 4 (dim 2)",
                       std::invalid_argument);
}

TEST_CASE("kinetic_energy: 0.5 m sum |v|^2, LagrangeBench's strided one-frame velocities, MSE") {
  std::mt19937 rng(3);
  const std::vector<float> v = random_cloud(rng, 17, 3, -1.f, 1.f);
  double twin = 0.0;
  for (float c : v) twin += 0.5 * 2.5 * static_cast<double>(c) * c;
  CHECK(kinetic_energy(v, 3, 2.5) == doctest::Approx(twin).epsilon(1e-12));

  // Positions x_t = t^2 * 0.01 for one particle in 1D: the velocity at frame s*t is
  // (x_{s t + 1} - x_{s t}) / dt.
  std::vector<std::vector<float>> pos;
  for (int t = 0; t < 25; ++t) pos.push_back({0.01f * static_cast<float>(t * t)});
  const auto vel = finite_difference_velocities(pos, 1, 0.5, 10);
  REQUIRE(vel.size() == 3);  // frames 0, 10, 20 (21 < 25)
  for (int t = 0; t < 3; ++t) {
    const int f = 10 * t;
    CHECK(vel[t][0] == doctest::Approx(0.01 * ((f + 1) * (f + 1) - f * f) / 0.5).epsilon(1e-5));
  }
  // Periodic: a particle crossing the box edge moves by 0.1, not -0.9.
  const auto wrap = finite_difference_velocities({{0.95f}, {0.05f}}, 1, 1.0, 1, {1.0});
  CHECK(wrap[0][0] == doctest::Approx(0.1).epsilon(1e-5));

  const std::vector<std::vector<float>> a{{1.f, 0.f}, {2.f, 0.f}}, b{{0.f, 0.f}, {0.f, 1.f}};
  // E(a) = 0.5, 2; E(b) = 0, 0.5: ((0.5)^2 + (1.5)^2) / 2.
  CHECK(kinetic_energy_mse(a, b, 2) == doctest::Approx((0.25 + 2.25) / 2));
}

TEST_CASE("chamfer_two_way matches all-pairs nearest neighbours in 2D and 3D, unequal counts, outliers") {
  std::mt19937 rng(11);
  for (int dim : {2, 3}) {
    for (int trial = 0; trial < 4; ++trial) {
      std::vector<float> pred = random_cloud(rng, 150 + 37 * trial, dim);
      const std::vector<float> gt = random_cloud(rng, 200 - 20 * trial, dim, 0.1f, 0.9f);
      if (trial == 3) {  // a blown-up particle far away
        for (int k = 0; k < dim; ++k) pred.push_back(50.f + static_cast<float>(k));
      }
      const ChamferDistance c = chamfer_two_way(pred, gt, dim);
      const double g2p = brute_mean_nearest(gt, pred, dim), p2g = brute_mean_nearest(pred, gt, dim);
      CHECK(c.gt_to_pred == doctest::Approx(g2p).epsilon(1e-12));
      CHECK(c.pred_to_gt == doctest::Approx(p2g).epsilon(1e-12));
      CHECK(c.two_way == doctest::Approx(g2p + p2g).epsilon(1e-12));
    }
  }
  // Queries far outside the other cloud's grid.
  const ChamferDistance far = chamfer_two_way({0.f, 0.f, 0.f}, {3.f, 4.f, 0.f, 3.f, 4.f, 1.f}, 3);
  CHECK(far.gt_to_pred == doctest::Approx((5.0 + std::sqrt(26.0)) / 2));
  CHECK(far.pred_to_gt == doctest::Approx(5.0));
  CHECK_THROWS_WITH_AS(chamfer_two_way({}, {0.f, 0.f}, 2),
                       "chamfer_two_way: expected non-empty [n, dim=2] clouds, got 0 (pred) and 2 (gt) coordinates",
                       std::invalid_argument);
}

TEST_CASE("density_error: poly6 window density against all pairs; rest density = max of the ground truth") {
  std::mt19937 rng(5);
  for (int dim : {2, 3}) {
    const std::vector<float> gt = random_cloud(rng, 300, dim);
    const std::vector<float> pred = random_cloud(rng, 280, dim, 0.05f, 0.95f);
    const double h = dim == 2 ? 0.12 : 0.2;
    const std::vector<double> rho = window_density(pred, dim, h), twin = brute_density(pred, dim, h);
    REQUIRE(rho.size() == twin.size());
    for (std::size_t i = 0; i < rho.size(); ++i) CHECK(rho[i] == doctest::Approx(twin[i]).epsilon(1e-12));
    const std::vector<double> rho_gt = brute_density(gt, dim, h);
    const double rho0 = *std::max_element(rho_gt.begin(), rho_gt.end());
    double err = 0.0;
    for (double r : twin) err += std::abs(r - rho0) / rho0;
    err /= static_cast<double>(twin.size());
    CHECK(density_error(pred, gt, dim, DensityErrorOptions{h, 0.0}) == doctest::Approx(err).epsilon(1e-12));
  }
  // An isolated particle has density 1 (itself); rest density 2 -> error 0.5.
  CHECK(density_error({0.f, 0.f}, {}, 2, DensityErrorOptions{0.1, 2.0}) == doctest::Approx(0.5));
}

TEST_CASE("sinkhorn_divergence: closed forms, S(x, x) = 0, symmetry, translation, the plain-Sinkhorn twin") {
  SinkhornOptions o;
  // Two single points: OT_eps = squared distance at any eps, OT(x, x) = 0.
  const SinkhornResult two = sinkhorn_divergence({0.f, 0.f, 0.f}, {1.f, 2.f, 2.f}, 3, o);
  CHECK(two.divergence == doctest::Approx(9.0).epsilon(1e-9));
  CHECK(two.epsilon == doctest::Approx(0.05 * 9.0));
  CHECK(two.converged);

  std::mt19937 rng(7);
  const std::vector<float> x = random_cloud(rng, 40, 3), y = random_cloud(rng, 33, 3, 0.2f, 1.2f);
  const SinkhornResult xx = sinkhorn_divergence(x, x, 3, o);
  CHECK(std::abs(xx.divergence) < 1e-12);
  const SinkhornResult xy = sinkhorn_divergence(x, y, 3, o), yx = sinkhorn_divergence(y, x, 3, o);
  CHECK(xy.converged);
  CHECK(xy.divergence > 0.0);
  // eps comes from mean(C_xy) = mean(C_yx): the same problems, up to the stopping threshold.
  CHECK(xy.divergence == doctest::Approx(yx.divergence).epsilon(1e-3));

  // The plain scaling iterations in double, run long, agree with the log-domain ones.
  SinkhornOptions tight = o;
  tight.threshold = 1e-10;
  tight.max_iterations = 5000;
  const SinkhornResult t = sinkhorn_divergence(x, y, 3, tight);
  const double e = t.epsilon;
  const double twin = brute_entropic_ot(x, y, 3, e, 5000) -
                      0.5 * (brute_entropic_ot(x, x, 3, e, 5000) + brute_entropic_ot(y, y, 3, e, 5000));
  CHECK(t.ot_xy == doctest::Approx(brute_entropic_ot(x, y, 3, e, 5000)).epsilon(1e-8));
  CHECK(t.divergence == doctest::Approx(twin).epsilon(1e-6));

  // A translated cloud: W2^2 = |shift|^2, which S approaches for small eps.
  const std::vector<float> c = random_cloud(rng, 25, 3);
  std::vector<float> shifted = c;
  const float shift[3] = {0.03f, 0.01f, -0.02f};
  for (std::size_t i = 0; i < shifted.size(); ++i) shifted[i] += shift[i % 3];
  SinkhornOptions small;
  small.relative_epsilon = false;
  small.epsilon = 1e-4;
  small.max_iterations = 20000;
  const SinkhornResult tr = sinkhorn_divergence(c, shifted, 3, small);
  CHECK(tr.converged);
  CHECK(tr.divergence == doctest::Approx(0.0014).epsilon(0.02));

  CHECK_THROWS_WITH_AS(sinkhorn_divergence({}, {1.f}, 1, o),
                       "sinkhorn_divergence: expected two non-empty [n, dim=1] clouds, got 0 and 1 coordinates",
                       std::invalid_argument);
}

TEST_CASE("rollout_metrics: every metric on a Taylor-Green rollout; zero against itself, positive when perturbed") {
  TaylorGreenOptions tg;
  tg.particles_per_side = 5;
  tg.frames = 12;
  const LagrangeBenchTrajectory t = taylor_green_trajectory(tg, 0);
  const LagrangeBenchMetadata meta = taylor_green_metadata(tg);
  std::vector<std::vector<float>> gt, pred;
  std::mt19937 rng(1);
  std::normal_distribution<float> noise(0.f, 0.01f);
  for (std::int64_t f = 1; f < t.frames; ++f) {
    gt.push_back(t.frame(f));
    pred.push_back(t.frame(f));
    for (float& v : pred.back()) v += noise(rng) * static_cast<float>(f);
  }
  RolloutMetricsOptions o;
  o.dim = 3;
  o.frame_dt = meta.frame_dt();
  o.periodic_box = meta.periodic_box();
  o.density_radius = meta.default_connectivity_radius;
  const auto same = rollout_metrics(gt, gt, o);
  for (const char* k : {"mse", "mse1", "mse5", "mse10", "sinkhorn", "e_kin_mse", "chamfer", "density_error"}) {
    CAPTURE(k);
    REQUIRE(same.count(k) == 1);
    if (std::string(k) != "density_error") CHECK(std::abs(same.at(k)) < 1e-9);
  }
  const auto r = rollout_metrics(pred, gt, o);
  CHECK(r.at("mse") > r.at("mse1"));
  CHECK(r.at("sinkhorn") > 0.0);
  CHECK(r.at("chamfer") > 0.0);
  CHECK(r.at("e_kin_mse") > 0.0);
  RolloutMetricsMean mean;
  mean.add(same);
  mean.add(r);
  CHECK(mean.rollouts() == 2);
  CHECK(mean.mean().at("mse") == doctest::Approx(r.at("mse") / 2));
}
