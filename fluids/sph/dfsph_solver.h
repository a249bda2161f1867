#pragma once
// Divergence-free SPH (Bender & Koschier 2015/2017) for incompressible fluids with static
// boundary particles (Akinci et al. 2012).
//
// Each time step:
//   1. neighbors, density ratios rho_i / rho0 and the DFSPH factors alpha_i;
//   2. divergence solve: velocities corrected until D(rho)/Dt ~ 0;
//   3. non-pressure accelerations (gravity, viscosity), adaptive dt from the CFL bound;
//   4. density solve: predicted velocities corrected until the predicted density is rho0;
//   5. positions advanced.
// Both solves are Jacobi iterations on per-particle stiffness values kappa_i: one pass computes
// every kappa from the current velocities, a second updates every velocity from the kappas.
// Every loop writes only its own particle's values and reads neighbors in the neighbor list's
// sorted order, and reductions use fixed chunks, so results are bitwise independent of the
// thread count. Details and parameters: docs/simulator.md.
#include <Eigen/Core>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "../../core/neighbor_search.h"
#include "../../core/shape.h"
#include "boundary.h"
#include "sph_kernel.h"

namespace lagrad::sph {

struct DfsphOptions {
  float particle_radius = 0.025f;  // spacing 2r, kernel support 4r
  Eigen::Vector3f gravity{0.0f, -9.81f, 0.0f};
  float viscosity = 0.01f;        // kinematic viscosity (m^2/s) of the SPH Laplacian term
  float cfl = 0.4f;               // dt <= cfl * 2r / max |v|
  float min_dt = 1e-5f;
  float max_dt = 0.005f;
  float max_density_error = 1e-4f;     // mean relative compression after the density solve
  float max_divergence_error = 1e-3f;  // mean relative density change per step after the div solve
  int min_iterations = 2;
  int max_iterations = 100;
  bool divergence_solve = true;
  // Jacobi relaxation: 1 is plain DFSPH; 0.5 stops pairs of particles from bouncing apart
  // elastically (both push with the full correction at once), which would add energy.
  float relaxation = 0.5f;
  bool warm_start = true;           // start each solve from the previous step's stiffness
  float warm_start_factor = 0.8f;   // share of the previous density stiffness kept

  DfsphOptions& set_particle_radius(float r) { particle_radius = r; return *this; }
  DfsphOptions& set_gravity(const Eigen::Vector3f& g) { gravity = g; return *this; }
  DfsphOptions& set_viscosity(float v) { viscosity = v; return *this; }
  DfsphOptions& set_cfl(float c) { cfl = c; return *this; }
  DfsphOptions& set_max_dt(float dt) { max_dt = dt; return *this; }
  DfsphOptions& set_max_density_error(float e) { max_density_error = e; return *this; }
  DfsphOptions& set_max_divergence_error(float e) { max_divergence_error = e; return *this; }

  // Throws std::invalid_argument naming the field, the allowed range and the value.
  void validate() const;
};

struct StepStats {
  double dt = 0;
  int density_iterations = 0;
  int divergence_iterations = 0;
  double density_error = 0;     // mean relative compression left by the density solve
  double divergence_error = 0;  // mean relative density change per step left by the div solve
};

class DfsphSolver {
 public:
  // `boundary` may be empty (no walls); its normals are not used by the solver.
  DfsphSolver(const DfsphOptions& options, const BoundaryParticles& boundary);

  // Appends fluid particles ([n, 3] positions and velocities).
  void add_fluid(const std::vector<float>& positions, const std::vector<float>& velocities);
  // Drops the particles with y < min_y (keeping the others' order); returns how many.
  Index remove_below(float min_y);

  // One adaptive time step, no longer than max_dt.
  void step(double max_dt = std::numeric_limits<double>::infinity());
  // Steps until time() has advanced by exactly `duration` (the last steps are shortened).
  void advance(double duration);

  Index num_particles() const { return n_; }
  double time() const { return time_; }
  long steps() const { return steps_; }
  const std::vector<float>& positions() const { return pos_; }
  const std::vector<float>& velocities() const { return vel_; }
  // rho_i / rho0 as of the last neighbor update (start of the current step).
  const std::vector<float>& density_ratios();
  const StepStats& last_step() const { return stats_; }
  const DfsphOptions& options() const { return opt_; }
  // Fluid particle volume V: the lattice of spacing 2r has density ratio exactly 1 in its
  // interior (V = 1 / sum_j W over the lattice).
  float particle_volume() const { return volume_; }
  // Sum over particles of |v|^2 / 2 - g.x (per unit mass; multiply by the particle mass).
  double mechanical_energy() const;

 private:
  void update_neighbors();
  void compute_density_and_factors();
  void divergence_solve();
  void density_solve(float dt);
  void viscosity_accelerations();
  float choose_dt(double max_dt) const;
  // One Jacobi pass of either solve: v_i -= scale * (sum_j V (k_i + k_j) gradW_ij + k_i gb_i).
  void apply_stiffness(const std::vector<float>& kappa, float scale);
  float density_rate(Index i) const;
  // Keeps half of the previous stiffness where particle i compresses again, applies it.
  void warm_start(std::vector<float>& kappa_sum, float scale, bool density);
  double mean_chunked(const std::vector<float>& values) const;

  DfsphOptions opt_;
  CubicSplineKernel kernel_;
  float volume_ = 0;
  double time_ = 0;
  long steps_ = 0;
  float last_dt_ = 0;
  StepStats stats_;

  // Boundary: positions, Akinci volumes and the reusable spatial index.
  std::vector<float> bpos_, bvol_;
  std::unique_ptr<SpatialHashIndex> bindex_;

  // Fluid state.
  Index n_ = 0;
  std::vector<float> pos_, vel_, acc_;
  bool neighbors_valid_ = false;

  // Per-step neighborhood data.
  NeighborList nl_;              // fluid-fluid, rows in the index's spatial order, self included
  NeighborList bl_;              // fluid-boundary
  std::vector<std::int32_t> nbr_;  // nl_'s neighbor indices as int32 (half the memory traffic)
  std::vector<float> grad_;      // [entries, 3] V times the gradient of W at x_i - x_j
  std::vector<float> rho_;       // density ratio
  std::vector<float> alpha_;     // 1 / (|sum V gradW|^2 + sum |V gradW|^2), 0 if undefined
  std::vector<float> gb_;        // [n, 3] sum_k Vb_k gradW_ik over boundary neighbors
  std::vector<int> num_neighbors_;  // fluid + boundary neighbors, self excluded
  std::vector<float> kappa_, kappa_v_, kappa_sum_, kappa_v_sum_, residual_;
};

}  // namespace lagrad::sph
