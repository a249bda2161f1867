#pragma once
// The benchmark metrics of one rollout together (LagrangeBench's MetricsComputer and DMCF's
// evaluation; the formulas are in docs/datasets_and_metrics.md), and their mean over rollouts.
#include <map>
#include <string>
#include <vector>

#include "fluids/metrics/sinkhorn.h"

namespace lagrad {

struct RolloutMetricsOptions {
  // Any of "mse", "sinkhorn", "e_kin", "chamfer", "density".
  std::vector<std::string> metrics{"mse", "sinkhorn", "e_kin", "chamfer", "density"};
  int dim = 3;
  double frame_dt = 1.0;              // time between stored frames (velocities for e_kin)
  int stride = 10;                    // sinkhorn and e_kin every stride-th frame (LagrangeBench)
  std::vector<int> horizons{1, 5, 10, 20, 50, 100};
  std::vector<double> periodic_box;   // mse, sinkhorn, e_kin; chamfer and density are not periodic
  double mass = 1.0;                  // e_kin: E = mass/2 sum |v|^2
  double density_radius = 0.0;        // density: required when "density" is asked for
  SinkhornOptions sinkhorn;
};

// Parses "mse,sinkhorn,..." (throws std::invalid_argument naming an unknown metric).
std::vector<std::string> parse_metric_names(const std::string& list);

// Flat name -> value: "mse" (whole rollout), "mse1", "mse5", ... (horizons < frames),
// "sinkhorn" (mean over frames 0, stride, ... excluding the last), "e_kin_mse", "chamfer"
// (two-way, mean over frames), "chamfer_gt_to_pred", "density_error" (mean over frames).
// pred and gt: predicted frames only, flat [N, dim] each.
std::map<std::string, double> rollout_metrics(const std::vector<std::vector<float>>& pred,
                                              const std::vector<std::vector<float>>& gt,
                                              const RolloutMetricsOptions& options);

// Means over rollouts of each name (a name missing from a rollout, e.g. a horizon longer than
// it, is averaged over the rollouts that have it).
class RolloutMetricsMean {
 public:
  void add(const std::map<std::string, double>& one);
  std::map<std::string, double> mean() const;
  int rollouts() const { return rollouts_; }

 private:
  std::map<std::string, std::pair<double, int>> sums_;
  int rollouts_ = 0;
};

}  // namespace lagrad
