#pragma once
// A small periodic Taylor-Green-vortex dataset in LagrangeBench's layout (fluids/io/lagrangebench.h),
// so that tests and jobs need no download.
//
// What physics this is (say it wherever the data is used): the bundled SPH solver has no
// periodic boundaries, so this is NOT a fluid simulation. Particles start on a jittered lattice
// in the box [0, 2 pi)^dim and are advected (RK4, `write_every` substeps per stored frame,
// positions wrapped into the box) by the analytic Taylor-Green velocity field
//   u = U cos(x - a) sin(y - b) [sin(z - c)],  v = -U sin(x - a) cos(y - b) [sin(z - c)],
//   w = 0,  U = exp(-dim * viscosity * t),
// with a random phase (a, b, c) per trajectory. In 2D this is the exact Navier-Stokes solution
// (k^2 = 2: U = exp(-2 nu t)); in 3D it is the classical TGV initial field with the viscous
// (Stokes) decay rate of its wave number (k^2 = 3) but frozen in shape: no pressure, no
// nonlinear evolution, no transition to turbulence, unlike LagrangeBench's SPH TGV 3D.
#include <cstdint>
#include <string>

#include "fluids/io/lagrangebench.h"

namespace lagrad {

struct TaylorGreenOptions {
  int dim = 3;
  int particles_per_side = 8;  // particles = particles_per_side^dim
  int frames = 41;             // stored frames per trajectory
  int write_every = 10;        // RK4 substeps per stored frame
  double dt = 0.005;           // substep
  double viscosity = 0.02;
  double jitter = 0.1;         // initial offset from the lattice, in units of dx (uniform in +-jitter/2)
  int train = 4, valid = 1, test = 1;  // trajectories per file
  std::uint64_t seed = 0;
};

// Trajectory `index` of a dataset (independent of the others; the same bits for the same seed
// on every platform: the random numbers come from splitmix64, not <random>'s distributions).
LagrangeBenchTrajectory taylor_green_trajectory(const TaylorGreenOptions& options, int index);

// The metadata the dataset gets (bounds [0, 2 pi]^dim, all periodic, dx = 2 pi /
// particles_per_side, default_connectivity_radius = 1.5 dx; vel/acc statistics left empty).
LagrangeBenchMetadata taylor_green_metadata(const TaylorGreenOptions& options);

// Writes folder/{metadata.json, train.h5, valid.h5, test.h5} (the folder is created). Train,
// valid and test hold trajectories 0.., train.., train+valid.. of the same seed. vel_* and acc_*
// statistics are computed over train.h5 from per-frame minimum-image displacements (velocity =
// x[t+1] - x[t], acceleration = its difference, per stored frame, not divided by dt).
// Returns the metadata written.
LagrangeBenchMetadata write_taylor_green_dataset(const std::string& folder, const TaylorGreenOptions& options);

}  // namespace lagrad
