#include "fluids/metrics/density_error.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "fluids/metrics/point_grid.h"

namespace lagrad {

std::vector<double> window_density(const std::vector<float>& points, int dim, double radius) {
  if (!(radius > 0)) throw std::invalid_argument("window_density: radius must be positive, got " + std::to_string(radius));
  const PointGrid grid(points, dim, radius);
  const std::size_t n = static_cast<std::size_t>(grid.size());
  std::vector<double> rho(n);
  const double inv_h2 = 1.0 / (radius * radius);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n), [&](const tbb::blocked_range<std::size_t>& r) {
    for (std::size_t i = r.begin(); i < r.end(); ++i) {
      // Neighbours arrive in the grid's fixed order: the same sum at any thread count.
      double s = 0.0;
      grid.for_each_within(&points[i * static_cast<std::size_t>(dim)], radius, [&](std::int64_t, double d2) {
        const double w = 1.0 - d2 * inv_h2;
        s += w * w * w;
      });
      rho[i] = s;
    }
  });
  return rho;
}

double density_error(const std::vector<float>& pred, const std::vector<float>& gt, int dim,
                     const DensityErrorOptions& options) {
  if (!(options.radius > 0))
    throw std::invalid_argument("density_error: radius must be positive, got " + std::to_string(options.radius));
  if (pred.empty()) throw std::invalid_argument("density_error: the predicted frame is empty");
  double rho0 = options.rest_density;
  if (rho0 <= 0) {
    if (gt.empty()) throw std::invalid_argument("density_error: no rest density and an empty ground-truth frame");
    const std::vector<double> rho_gt = window_density(gt, dim, options.radius);
    rho0 = *std::max_element(rho_gt.begin(), rho_gt.end());
  }
  const std::vector<double> rho = window_density(pred, dim, options.radius);
  double sum = 0.0;
  for (double r : rho) sum += std::abs(r - rho0) / rho0;
  return sum / static_cast<double>(rho.size());
}

}  // namespace lagrad
