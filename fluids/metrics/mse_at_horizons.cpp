#include "fluids/metrics/mse_at_horizons.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace lagrad {

double displacement(double a, double b, const std::vector<double>& box, int k) {
  double d = a - b;
  if (!box.empty()) {
    const double L = box[static_cast<std::size_t>(k)];
    d -= L * std::round(d / L);
  }
  return d;
}

MseAtHorizons mse_at_horizons(const std::vector<std::vector<float>>& pred,
                              const std::vector<std::vector<float>>& gt, int dim,
                              const MseAtHorizonsOptions& options) {
  if (dim < 1) throw std::invalid_argument("mse_at_horizons: dim must be positive, got " + std::to_string(dim));
  if (pred.size() != gt.size())
    throw std::invalid_argument("mse_at_horizons: prediction has " + std::to_string(pred.size()) +
                                " frames, ground truth " + std::to_string(gt.size()));
  if (!options.periodic_box.empty()) {
    if (options.periodic_box.size() != static_cast<std::size_t>(dim))
      throw std::invalid_argument("mse_at_horizons: periodic_box has " + std::to_string(options.periodic_box.size()) +
                                  " lengths, expected dim = " + std::to_string(dim));
    for (double L : options.periodic_box)
      if (!(L > 0)) throw std::invalid_argument("mse_at_horizons: periodic_box lengths must be positive");
  }
  MseAtHorizons out;
  out.per_frame.resize(pred.size());
  for (std::size_t t = 0; t < pred.size(); ++t) {
    if (pred[t].size() != gt[t].size() || pred[t].size() % static_cast<std::size_t>(dim) != 0)
      throw std::invalid_argument("mse_at_horizons: frame " + std::to_string(t) + ": prediction has " +
                                  std::to_string(pred[t].size()) + " coordinates, ground truth " +
                                  std::to_string(gt[t].size()) + " (dim " + std::to_string(dim) + ")");
    const std::size_t n = pred[t].size() / static_cast<std::size_t>(dim);
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i)
      for (int k = 0; k < dim; ++k) {
        const std::size_t at = i * static_cast<std::size_t>(dim) + static_cast<std::size_t>(k);
        const double d = displacement(pred[t][at], gt[t][at], options.periodic_box, k);
        sum += d * d;
      }
    out.per_frame[t] = n == 0 ? 0.0 : sum / static_cast<double>(n);
  }
  double total = 0.0;
  for (std::size_t t = 0; t < out.per_frame.size(); ++t) {
    total += out.per_frame[t];
    for (int h : options.horizons)
      if (h > 0 && static_cast<std::size_t>(h) == t + 1 && static_cast<std::size_t>(h) < out.per_frame.size())
        out.at_horizon[h] = total / static_cast<double>(h);
  }
  out.full = out.per_frame.empty() ? 0.0 : total / static_cast<double>(out.per_frame.size());
  return out;
}

}  // namespace lagrad
