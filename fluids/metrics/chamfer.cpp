#include "fluids/metrics/chamfer.h"

#include <tbb/parallel_for.h>
#include <tbb/blocked_range.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "fluids/metrics/point_grid.h"

namespace lagrad {

namespace {

// Mean over the query points of the distance to the nearest point of the grid; per-point
// distances are summed in index order (deterministic at any thread count).
double mean_nearest(const std::vector<float>& queries, const PointGrid& grid, int dim) {
  const std::size_t n = queries.size() / static_cast<std::size_t>(dim);
  std::vector<double> d(n);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n), [&](const tbb::blocked_range<std::size_t>& r) {
    for (std::size_t i = r.begin(); i < r.end(); ++i) {
      double d2 = 0.0;
      grid.nearest(&queries[i * static_cast<std::size_t>(dim)], &d2);
      d[i] = std::sqrt(d2);
    }
  });
  double sum = 0.0;
  for (double v : d) sum += v;
  return sum / static_cast<double>(n);
}

}  // namespace

ChamferDistance chamfer_two_way(const std::vector<float>& pred, const std::vector<float>& gt, int dim) {
  if (dim != 2 && dim != 3) throw std::invalid_argument("chamfer_two_way: dim must be 2 or 3, got " + std::to_string(dim));
  const std::size_t d = static_cast<std::size_t>(dim);
  if (pred.empty() || gt.empty() || pred.size() % d != 0 || gt.size() % d != 0)
    throw std::invalid_argument("chamfer_two_way: expected non-empty [n, dim=" + std::to_string(dim) +
                                "] clouds, got " + std::to_string(pred.size()) + " (pred) and " +
                                std::to_string(gt.size()) + " (gt) coordinates");
  const PointGrid pred_grid(pred, dim), gt_grid(gt, dim);
  ChamferDistance c;
  c.gt_to_pred = mean_nearest(gt, pred_grid, dim);
  c.pred_to_gt = mean_nearest(pred, gt_grid, dim);
  c.two_way = c.gt_to_pred + c.pred_to_gt;
  return c;
}

}  // namespace lagrad
