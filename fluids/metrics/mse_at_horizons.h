#pragma once
// LagrangeBench's position MSE of a rollout, over the whole rollout and over its first h frames
// (lagrangebench/evaluate/metrics.py, MetricsComputer.mse and loss_ranges). See
// docs/datasets_and_metrics.md.
#include <map>
#include <vector>

namespace lagrad {

struct MseAtHorizonsOptions {
  // LagrangeBench's loss_ranges. A horizon h is reported only when h < the number of frames
  // (LagrangeBench's own rule; with h == frames it would equal `full`).
  std::vector<int> horizons{1, 5, 10, 20, 50, 100};
  // Box lengths per dimension for periodic datasets (minimum-image displacement, as
  // LagrangeBench's periodic displacement function); empty: plain differences.
  std::vector<double> periodic_box;
};

struct MseAtHorizons {
  std::vector<double> per_frame;  // mean over particles of |pred_i - gt_i|^2
  std::map<int, double> at_horizon;  // h -> mean of per_frame[0..h)
  double full = 0.0;                 // mean of per_frame
};

// pred and gt: the predicted frames only (the first entry is the first predicted frame, not an
// input frame), each a flat [n, dim] array, same particle order.
MseAtHorizons mse_at_horizons(const std::vector<std::vector<float>>& pred,
                              const std::vector<std::vector<float>>& gt, int dim,
                              const MseAtHorizonsOptions& options = {});

// The displacement a - b in dimension k: minimum image when box is not empty.
double displacement(double a, double b, const std::vector<double>& box, int k);

}  // namespace lagrad
