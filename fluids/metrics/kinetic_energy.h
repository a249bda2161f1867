#pragma once
// Kinetic energy of particle frames and the MSE of its time series (LagrangeBench's "e_kin"
// metric, lagrangebench/evaluate/metrics.py). See docs/datasets_and_metrics.md for how the
// mass maps to LagrangeBench's dx^dim scaling.
#include <vector>

namespace lagrad {

// E = 0.5 * mass * sum_i |v_i|^2 over a flat [n, dim] velocity frame.
double kinetic_energy(const std::vector<float>& velocities, int dim, double mass = 1.0);

// One-frame finite-difference velocities (x[s*t + 1] - x[s*t]) / dt, sampled every s = stride
// frames, for t = 0, 1, ... while s*t + 1 < frames (LagrangeBench: stride 10,
// dt = metadata dt * write_every, periodic minimum-image displacements when periodic_box is
// given).
std::vector<std::vector<float>> finite_difference_velocities(const std::vector<std::vector<float>>& positions,
                                                             int dim, double dt, int stride = 1,
                                                             const std::vector<double>& periodic_box = {});

// mean over frames t of (E(pred_t) - E(gt_t))^2.
double kinetic_energy_mse(const std::vector<std::vector<float>>& pred_velocities,
                          const std::vector<std::vector<float>>& gt_velocities, int dim, double mass = 1.0);

}  // namespace lagrad
