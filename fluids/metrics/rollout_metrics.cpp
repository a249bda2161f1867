#include "fluids/metrics/rollout_metrics.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "fluids/metrics/chamfer.h"
#include "fluids/metrics/density_error.h"
#include "fluids/metrics/kinetic_energy.h"
#include "fluids/metrics/mse_at_horizons.h"

namespace lagrad {

namespace {
const std::vector<std::string> kKnown{"mse", "sinkhorn", "e_kin", "chamfer", "density"};
bool wants(const RolloutMetricsOptions& o, const char* name) {
  return std::find(o.metrics.begin(), o.metrics.end(), name) != o.metrics.end();
}
}  // namespace

std::vector<std::string> parse_metric_names(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    if (std::find(kKnown.begin(), kKnown.end(), item) == kKnown.end())
      throw std::invalid_argument("unknown metric '" + item + "' (known: mse, sinkhorn, e_kin, chamfer, density)");
    if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
  }
  return out;
}

std::map<std::string, double> rollout_metrics(const std::vector<std::vector<float>>& pred,
                                              const std::vector<std::vector<float>>& gt,
                                              const RolloutMetricsOptions& o) {
  if (pred.size() != gt.size())
    throw std::invalid_argument("rollout_metrics: prediction has " + std::to_string(pred.size()) +
                                " frames, ground truth " + std::to_string(gt.size()));
  if (o.stride < 1) throw std::invalid_argument("rollout_metrics: stride must be >= 1");
  std::map<std::string, double> out;
  if (pred.empty()) return out;
  if (wants(o, "mse")) {
    MseAtHorizonsOptions mo;
    mo.horizons = o.horizons;
    mo.periodic_box = o.periodic_box;
    const MseAtHorizons m = mse_at_horizons(pred, gt, o.dim, mo);
    out["mse"] = m.full;
    for (const auto& [h, v] : m.at_horizon) out["mse" + std::to_string(h)] = v;
  }
  if (wants(o, "sinkhorn")) {
    SinkhornOptions so = o.sinkhorn;
    so.periodic_box = o.periodic_box;
    double sum = 0.0;
    int n = 0;
    for (std::size_t t = 0; t + 1 < pred.size() || (pred.size() == 1 && t == 0); t += static_cast<std::size_t>(o.stride)) {
      sum += sinkhorn_divergence(pred[t], gt[t], o.dim, so).divergence;
      ++n;
    }
    out["sinkhorn"] = sum / n;
  }
  if (wants(o, "e_kin") && pred.size() >= 2) {
    const auto vp = finite_difference_velocities(pred, o.dim, o.frame_dt, o.stride, o.periodic_box);
    const auto vg = finite_difference_velocities(gt, o.dim, o.frame_dt, o.stride, o.periodic_box);
    out["e_kin_mse"] = kinetic_energy_mse(vp, vg, o.dim, o.mass);
  }
  if (wants(o, "chamfer")) {
    double two = 0.0, g2p = 0.0;
    for (std::size_t t = 0; t < pred.size(); ++t) {
      const ChamferDistance c = chamfer_two_way(pred[t], gt[t], o.dim);
      two += c.two_way;
      g2p += c.gt_to_pred;
    }
    out["chamfer"] = two / static_cast<double>(pred.size());
    out["chamfer_gt_to_pred"] = g2p / static_cast<double>(pred.size());
  }
  if (wants(o, "density")) {
    if (!(o.density_radius > 0)) throw std::invalid_argument("rollout_metrics: density needs density_radius > 0");
    double sum = 0.0;
    for (std::size_t t = 0; t < pred.size(); ++t)
      sum += density_error(pred[t], gt[t], o.dim, DensityErrorOptions{o.density_radius, 0.0});
    out["density_error"] = sum / static_cast<double>(pred.size());
  }
  return out;
}

void RolloutMetricsMean::add(const std::map<std::string, double>& one) {
  for (const auto& [k, v] : one) {
    auto& s = sums_[k];
    s.first += v;
    s.second += 1;
  }
  ++rollouts_;
}

std::map<std::string, double> RolloutMetricsMean::mean() const {
  std::map<std::string, double> out;
  for (const auto& [k, s] : sums_) out[k] = s.first / s.second;
  return out;
}

}  // namespace lagrad
