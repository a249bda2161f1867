#pragma once
// Two-way Chamfer distance between point clouds (DMCF's evaluation: utils/evaluation_helper.py
// chamfer_distance, the ground truth -> prediction direction, here with its reverse as well).
// See docs/datasets_and_metrics.md.
#include <vector>

namespace lagrad {

struct ChamferDistance {
  double gt_to_pred = 0.0;  // mean over gt points of the distance to the nearest pred point
  double pred_to_gt = 0.0;  // mean over pred points of the distance to the nearest gt point
  double two_way = 0.0;     // gt_to_pred + pred_to_gt
};

// pred: [n, dim], gt: [m, dim] flat, dim 2 or 3; the particle counts may differ. Uses a uniform
// grid (fluids/metrics/point_grid.h), not periodic.
ChamferDistance chamfer_two_way(const std::vector<float>& pred, const std::vector<float>& gt, int dim);

}  // namespace lagrad
