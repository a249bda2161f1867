#pragma once
// Debiased Sinkhorn divergence between two uniform point clouds (the distribution metric of
// LagrangeBench, which calls ott-jax's sinkhorn_divergence; see docs/datasets_and_metrics.md):
//   S(x, y) = OT_eps(x, y) - (OT_eps(x, x) + OT_eps(y, y)) / 2,
//   OT_eps(x, y) = min_P <C, P> + eps KL(P | a b^T), P 1 = a, P^T 1 = b,
// with C_ij = |x_i - y_j|^2, a_i = 1/n, b_j = 1/m, evaluated as the dual objective <f, a> + <g, b>
// of log-domain (stabilized) Sinkhorn iterations.
#include <vector>

namespace lagrad {

struct SinkhornOptions {
  // eps = epsilon * mean(C_xy) when relative_epsilon (ott-jax's default Geometry as far as we
  // could establish: 0.05 times the mean of the cost matrix; LagrangeBench leaves eps unset),
  // else eps = epsilon. The same eps serves the three problems xy, xx and yy.
  double epsilon = 0.05;
  bool relative_epsilon = true;
  // Stop when the L1 error of the row marginal is below threshold (LagrangeBench passes
  // threshold 1e-4 to ott; ott checks every 10 iterations, stops after 2000 at most).
  double threshold = 1e-4;
  int max_iterations = 2000;
  // Box lengths for periodic datasets (minimum-image cost, as LagrangeBench's displacement
  // function); empty: plain differences.
  std::vector<double> periodic_box;
};

struct SinkhornResult {
  double divergence = 0.0;  // S(x, y)
  double ot_xy = 0.0, ot_xx = 0.0, ot_yy = 0.0;
  double epsilon = 0.0;     // the eps used
  int iterations = 0;       // the most any of the three problems needed
  bool converged = false;   // all three reached threshold within max_iterations
};

// x: [n, dim], y: [m, dim], flat. Throws std::invalid_argument for empty clouds or bad sizes.
SinkhornResult sinkhorn_divergence(const std::vector<float>& x, const std::vector<float>& y, int dim,
                                   const SinkhornOptions& options = {});

}  // namespace lagrad
