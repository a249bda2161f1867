// The Taylor-Green generator: the layout LagrangeBench reads, determinism, and the physics it
// claims (particles follow the analytic field; in 2D the kinetic energy decays as
// exp(-4 nu t), the exact Navier-Stokes rate).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "../test_dataset_util.h"
#include "fluids/generators/taylor_green.h"
#include "fluids/metrics/kinetic_energy.h"

using namespace lagrad;
using namespace lagrad::test;

TEST_CASE("write_taylor_green_dataset: LagrangeBench layout, periodic box, deterministic") {
  TempDir dir;
  TaylorGreenOptions o;
  o.particles_per_side = 4;
  o.frames = 6;
  o.write_every = 5;
  o.train = 2;
  o.valid = 1;
  o.test = 1;
  o.seed = 3;
  const LagrangeBenchMetadata m = write_taylor_green_dataset(dir.path().string(), o);
  const LagrangeBenchMetadata r = read_lagrangebench_metadata(dir.file("metadata.json"));
  CHECK(r.dim == 3);
  CHECK(r.write_every == 5);
  CHECK(r.frame_dt() == doctest::Approx(0.025));
  CHECK(r.periodic_box().size() == 3);
  CHECK(r.periodic_box()[0] == doctest::Approx(2 * M_PI));
  CHECK(r.default_connectivity_radius == doctest::Approx(1.5 * 2 * M_PI / 4));
  REQUIRE(r.vel_std.size() == 3);
  CHECK(r.vel_std[0] > 0.0);
  CHECK(r.vel_std[2] == 0.0);  // w = 0
  CHECK(r.vel_mean == m.vel_mean);

  const auto train = read_lagrangebench_file(dir.file("train.h5"));
  REQUIRE(train.size() == 2);
  CHECK(read_lagrangebench_file(dir.file("valid.h5")).size() == 1);
  const auto test = read_lagrangebench_file(dir.file("test.h5"));
  REQUIRE(test.size() == 1);
  CHECK(test[0].name == "00003");
  CHECK(train[0].frames == 6);
  CHECK(train[0].particles == 64);
  for (float v : train[1].position) {
    CHECK(v >= 0.0f);
    CHECK(v <= static_cast<float>(2 * M_PI));
  }
  // Trajectories differ (phase, jitter); the same seed gives the same bits.
  CHECK(train[0].position != train[1].position);
  CHECK(taylor_green_trajectory(o, 1).position == train[1].position);
  CHECK(taylor_green_trajectory(o, 3).position == test[0].position);
}

TEST_CASE("taylor_green_trajectory in 2D: the kinetic energy decays at the Navier-Stokes rate exp(-4 nu t)") {
  TaylorGreenOptions o;
  o.dim = 2;
  o.particles_per_side = 24;
  o.frames = 41;
  o.write_every = 10;
  o.dt = 0.002;
  o.viscosity = 0.5;
  o.jitter = 0.0;
  const LagrangeBenchTrajectory t = taylor_green_trajectory(o, 0);
  std::vector<std::vector<float>> frames;
  for (std::int64_t f = 0; f < t.frames; ++f) frames.push_back(t.frame(f));
  const double frame_dt = o.dt * o.write_every;
  const auto vel = finite_difference_velocities(frames, 2, frame_dt, 10, {2 * M_PI, 2 * M_PI});
  REQUIRE(vel.size() == 4);  // frames 0, 10, 20, 30
  const double e0 = kinetic_energy(vel[0], 2);
  // A uniform lattice samples <|v|^2> = U^2 / 2 over the box: E = 0.5 * N * U^2 / 2.
  CHECK(e0 == doctest::Approx(0.25 * 576 * std::exp(-4 * 0.5 * 0.5 * frame_dt)).epsilon(0.03));
  for (std::size_t i = 1; i < vel.size(); ++i) {
    const double time = 10.0 * static_cast<double>(i) * frame_dt;
    CHECK(kinetic_energy(vel[i], 2) / e0 == doctest::Approx(std::exp(-4 * 0.5 * time)).epsilon(0.03));
  }
}
