#include "fluids/metrics/kinetic_energy.h"

#include <stdexcept>
#include <string>

#include "fluids/metrics/mse_at_horizons.h"

namespace lagrad {

double kinetic_energy(const std::vector<float>& velocities, int dim, double mass) {
  if (dim < 1 || velocities.size() % static_cast<std::size_t>(dim) != 0)
    throw std::invalid_argument("kinetic_energy: " + std::to_string(velocities.size()) +
                                " velocity components is not a multiple of dim " + std::to_string(dim));
  double sum = 0.0;
  for (float v : velocities) sum += static_cast<double>(v) * v;
  return 0.5 * mass * sum;
}

std::vector<std::vector<float>> finite_difference_velocities(const std::vector<std::vector<float>>& positions,
                                                             int dim, double dt, int stride,
                                                             const std::vector<double>& periodic_box) {
  if (stride < 1) throw std::invalid_argument("finite_difference_velocities: stride must be >= 1, got " + std::to_string(stride));
  if (!(dt > 0)) throw std::invalid_argument("finite_difference_velocities: dt must be positive");
  if (!periodic_box.empty() && periodic_box.size() != static_cast<std::size_t>(dim))
    throw std::invalid_argument("finite_difference_velocities: periodic_box has " + std::to_string(periodic_box.size()) +
                                " lengths, expected dim = " + std::to_string(dim));
  std::vector<std::vector<float>> out;
  const std::size_t s = static_cast<std::size_t>(stride);
  for (std::size_t t = 0; s * t + 1 < positions.size(); ++t) {
    const std::vector<float>& a = positions[s * t];
    const std::vector<float>& b = positions[s * t + 1];
    if (a.size() != b.size())
      throw std::invalid_argument("finite_difference_velocities: frames " + std::to_string(s * t) + " and " +
                                  std::to_string(s * t + 1) + " hold " + std::to_string(a.size()) + " and " +
                                  std::to_string(b.size()) + " coordinates");
    std::vector<float> v(a.size());
    for (std::size_t j = 0; j < a.size(); ++j)
      v[j] = static_cast<float>(displacement(b[j], a[j], periodic_box, static_cast<int>(j % static_cast<std::size_t>(dim))) / dt);
    out.push_back(std::move(v));
  }
  return out;
}

double kinetic_energy_mse(const std::vector<std::vector<float>>& pred_velocities,
                          const std::vector<std::vector<float>>& gt_velocities, int dim, double mass) {
  if (pred_velocities.size() != gt_velocities.size())
    throw std::invalid_argument("kinetic_energy_mse: prediction has " + std::to_string(pred_velocities.size()) +
                                " frames, ground truth " + std::to_string(gt_velocities.size()));
  if (pred_velocities.empty()) return 0.0;
  double sum = 0.0;
  for (std::size_t t = 0; t < pred_velocities.size(); ++t) {
    const double d = kinetic_energy(pred_velocities[t], dim, mass) - kinetic_energy(gt_velocities[t], dim, mass);
    sum += d * d;
  }
  return sum / static_cast<double>(pred_velocities.size());
}

}  // namespace lagrad
