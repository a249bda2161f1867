#pragma once
// Density error of a predicted frame (DMCF's density measure: utils/tools/losses.py,
// compute_density with the "poly6" window, and the rest density taken as the largest
// ground-truth density as in its density_loss). See docs/datasets_and_metrics.md.
#include <vector>

namespace lagrad {

struct DensityErrorOptions {
  double radius = 0.0;        // kernel support h (required, > 0)
  double rest_density = 0.0;  // rho_0; <= 0: the largest density of the ground-truth frame
};

// rho_i = sum_{j : |x_i - x_j| < h} (1 - |x_i - x_j|^2 / h^2)^3, the particle itself included
// (DMCF's unnormalised poly6 window, unit masses). points: [n, dim], dim 2 or 3.
std::vector<double> window_density(const std::vector<float>& points, int dim, double radius);

// mean_i |rho_pred_i - rho_0| / rho_0 over the predicted particles.
double density_error(const std::vector<float>& pred, const std::vector<float>& gt, int dim,
                     const DensityErrorOptions& options);

}  // namespace lagrad
