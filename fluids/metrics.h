#pragma once
// Error measures of DeepLagrangianFluids' evaluation.
#include <vector>

namespace lagrad {

// Mean over particles of ||pred_i - gt_i|| (same particle order), in double.
double mean_distance(const std::vector<float>& pred, const std::vector<float>& gt);
// Mean over ground-truth particles of the distance to the nearest predicted particle
// (the "gt2pred" error of whole-sequence evaluation; works when particles are reordered).
double mean_gt_to_pred_distance(const std::vector<float>& pred, const std::vector<float>& gt);

}  // namespace lagrad
