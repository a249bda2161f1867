#include "fluids/metrics.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/neighbor_search.h"

namespace lagrad {

double mean_distance(const std::vector<float>& pred, const std::vector<float>& gt) {
  if (pred.size() != gt.size() || pred.size() % 3 != 0)
    throw std::invalid_argument("mean_distance: prediction has " + std::to_string(pred.size() / 3) +
                                " particles, ground truth " + std::to_string(gt.size() / 3));
  const size_t n = pred.size() / 3;
  if (n == 0) return 0.0;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    double d2 = 0.0;
    for (int k = 0; k < 3; ++k) {
      const double d = static_cast<double>(pred[3 * i + k]) - gt[3 * i + k];
      d2 += d * d;
    }
    sum += std::sqrt(d2);
  }
  return sum / static_cast<double>(n);
}

double mean_gt_to_pred_distance(const std::vector<float>& pred, const std::vector<float>& gt) {
  const Index np = static_cast<Index>(pred.size() / 3), ng = static_cast<Index>(gt.size() / 3);
  if (ng == 0) return 0.0;
  if (np == 0) return std::numeric_limits<double>::infinity();
  // Radius search with a growing radius for the queries still without a neighbor.
  std::vector<double> best(static_cast<size_t>(ng), std::numeric_limits<double>::infinity());
  std::vector<Index> todo(static_cast<size_t>(ng));
  for (Index i = 0; i < ng; ++i) todo[static_cast<size_t>(i)] = i;
  float radius = 0.05f;
  while (!todo.empty()) {
    std::vector<float> q;
    q.reserve(todo.size() * 3);
    for (Index i : todo)
      for (int k = 0; k < 3; ++k) q.push_back(gt[static_cast<size_t>(3 * i + k)]);
    const NeighborList nl = fixed_radius_search(pred.data(), np, q.data(), static_cast<Index>(todo.size()), radius);
    std::vector<Index> next;
    for (size_t r = 0; r < todo.size(); ++r) {
      const Index b = nl.row_splits[r], e = nl.row_splits[r + 1];
      if (b == e) {
        next.push_back(todo[r]);
        continue;
      }
      double m = std::numeric_limits<double>::infinity();
      for (Index j = b; j < e; ++j) m = std::min(m, static_cast<double>(nl.distances[static_cast<size_t>(j)]));
      best[static_cast<size_t>(todo[r])] = std::sqrt(m);
    }
    todo.swap(next);
    radius *= 4.0f;
  }
  double sum = 0.0;
  for (double b : best) sum += b;
  return sum / static_cast<double>(ng);
}

}  // namespace lagrad
