// DFSPH validation: a resting column keeps rest density and stays in its box, mechanical
// energy never grows in a closed box, and results do not depend on the thread count.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "core/parallel.h"
#include "fluids/sph/dfsph_solver.h"

using namespace lagrad::sph;
using lagrad::Index;

namespace {

constexpr float kD = 0.05f;            // particle spacing
constexpr float kGap = 2.4f * 0.025f;  // fluid-wall distance at rest density (Akinci walls)

// An nx x ny x nz block of fluid on the lattice, its lower corner at `corner`.
void add_block(DfsphSolver& s, int nx, int ny, int nz, const Eigen::Vector3f& corner, const Eigen::Vector3f& v) {
  std::vector<float> pos, vel;
  for (int i = 0; i < nx; ++i)
    for (int j = 0; j < ny; ++j)
      for (int k = 0; k < nz; ++k) {
        pos.insert(pos.end(), {corner[0] + kD * i, corner[1] + kD * j, corner[2] + kD * k});
        vel.insert(vel.end(), {v[0], v[1], v[2]});
      }
  s.add_fluid(pos, vel);
}

BoundaryParticles box(const Eigen::Vector3f& hi) {
  return sample_box_surface(Eigen::Vector3f::Zero(), hi, default_boundary_spacing(0.025f), true);
}

}  // namespace

TEST_CASE("sph solver: a fluid column at rest keeps its density and its container") {
  const int nx = 8, ny = 10, nz = 8;
  const Eigen::Vector3f hi(2 * kGap + (nx - 1) * kD, 1.0f, 2 * kGap + (nz - 1) * kD);
  DfsphSolver s(DfsphOptions{}, box(hi));
  add_block(s, nx, ny, nz, Eigen::Vector3f::Constant(kGap), Eigen::Vector3f::Zero());
  s.advance(1.0);  // 50 frames
  const auto& rho = s.density_ratios();
  const auto& x = s.positions();
  const auto& v = s.velocities();
  float top = -1e9f;
  for (Index i = 0; i < s.num_particles(); ++i) top = std::max(top, x[3 * i + 1]);
  // Interior: at least one kernel support below the free surface, where the neighborhood is
  // full (surface particles have a deficient density by construction).
  double err = 0, max_compression = 0, vmax = 0;
  int interior = 0;
  for (Index i = 0; i < s.num_particles(); ++i) {
    max_compression = std::max(max_compression, double(rho[i]) - 1.0);
    vmax = std::max(vmax, double(std::sqrt(v[3 * i] * v[3 * i] + v[3 * i + 1] * v[3 * i + 1] + v[3 * i + 2] * v[3 * i + 2])));
    for (int c = 0; c < 3; ++c) {
      CHECK(x[3 * i + c] > 0.0f);
      CHECK(x[3 * i + c] < hi[c]);
    }
    if (x[3 * i + 1] < top - 4 * 0.025f) {
      err += std::abs(rho[i] - 1.0);
      ++interior;
    }
  }
  REQUIRE(interior > s.num_particles() / 2);
  MESSAGE("mean |rho/rho0 - 1| interior = " << err / interior << ", max compression = " << max_compression
                                          << ", max speed = " << vmax);
  CHECK(err / interior < 0.01);
  CHECK(max_compression < 0.01);
  CHECK(vmax < 0.1);                     // at rest up to small sloshing
  CHECK(top == doctest::Approx(kGap + (ny - 1) * kD).epsilon(0.05));  // the column keeps its height
}

TEST_CASE("sph solver: mechanical energy never grows in a closed box") {
  // A block thrown sideways and down in a closed box: viscosity, pressure solves and wall
  // impacts only dissipate. Tolerance: 1e-4 J/kg per particle from one frame to the next (the
  // solver leaves up to 0.01% compression per step, whose release can return a little energy;
  // float positions make the potential energy itself uncertain at ~1e-6 J/kg).
  for (float viscosity : {0.0f, 0.01f, 0.2f}) {
    CAPTURE(viscosity);
    DfsphSolver s(DfsphOptions{}.set_viscosity(viscosity), box(Eigen::Vector3f(0.8f, 1.0f, 0.6f)));
    add_block(s, 8, 8, 6, Eigen::Vector3f(0.1f, 0.3f, 0.1f), Eigen::Vector3f(1.5f, -0.5f, 0.7f));
    double e = s.mechanical_energy() / s.num_particles();
    const double e0 = e;
    double max_rise = 0;
    for (int f = 0; f < 100; ++f) {
      s.advance(0.02);
      const double e1 = s.mechanical_energy() / s.num_particles();
      max_rise = std::max(max_rise, e1 - e);
      e = e1;
    }
    MESSAGE("viscosity " << viscosity << ": energy per particle " << e0 << " -> " << e << " J/kg, largest rise "
                         << max_rise);
    CHECK(max_rise <= 1e-4);
    CHECK(e < e0 - 4.0);  // the kinetic and most of the potential energy is gone
  }
}

TEST_CASE("sph solver: bitwise identical results on 1 and 2 threads") {
  auto run = [](int threads) {
    lagrad::set_num_threads(threads);
    DfsphSolver s(DfsphOptions{}.set_viscosity(0.05f), box(Eigen::Vector3f(0.8f, 0.8f, 0.5f)));
    add_block(s, 10, 8, 6, Eigen::Vector3f(kGap, kGap, kGap), Eigen::Vector3f(1.0f, 0.0f, 0.3f));
    for (int i = 0; i < 40; ++i) s.step();
    lagrad::set_num_threads(0);
    return std::make_pair(s.positions(), s.velocities());
  };
  const auto a = run(1), b = run(2);
  CHECK(a.first == b.first);
  CHECK(a.second == b.second);
}

TEST_CASE("sph solver: time stepping and option errors") {
  DfsphSolver s(DfsphOptions{}, box(Eigen::Vector3f(1.0f, 1.0f, 1.0f)));
  add_block(s, 4, 4, 4, Eigen::Vector3f(0.3f, 0.5f, 0.3f), Eigen::Vector3f(0.0f, -3.0f, 0.0f));
  s.step();
  CHECK(s.last_step().dt <= 0.4 * kD / 3.0 + 1e-6);  // CFL with |v| >= 3 m/s
  const double t0 = s.time();
  s.advance(0.02);
  s.advance(0.02);
  CHECK(s.time() == doctest::Approx(t0 + 0.04).epsilon(1e-12));  // advance lands exactly
  CHECK_THROWS_WITH_AS(DfsphSolver(DfsphOptions{}.set_cfl(0.0f), BoundaryParticles{}),
                       "DfsphOptions: cfl must be in (0.000000, 1.000000], got 0.000000", std::invalid_argument);
  CHECK_THROWS_WITH_AS(s.add_fluid({0.0f, 1.0f}, {0.0f, 1.0f}),
                       "DfsphSolver::add_fluid: positions and velocities expected [n, 3] each, got 2 and 2 floats",
                       std::invalid_argument);
}
