#include "fluids/metrics/point_grid.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace lagrad {

PointGrid::PointGrid(const std::vector<float>& points, int dim, double cell)
    : points_(points), dim_(dim) {
  if (dim != 2 && dim != 3) throw std::invalid_argument("PointGrid: dim must be 2 or 3, got " + std::to_string(dim));
  if (points.size() % static_cast<std::size_t>(dim) != 0)
    throw std::invalid_argument("PointGrid: " + std::to_string(points.size()) + " coordinates is not a multiple of dim " +
                                std::to_string(dim));
  n_ = static_cast<std::int64_t>(points.size()) / dim;
  if (n_ == 0) {
    start_.assign(2, 0);
    return;
  }
  double hi[3] = {0, 0, 0};
  for (int k = 0; k < dim; ++k) {
    lo_[k] = std::numeric_limits<double>::infinity();
    hi[k] = -std::numeric_limits<double>::infinity();
  }
  for (std::int64_t i = 0; i < n_; ++i)
    for (int k = 0; k < dim; ++k) {
      const double v = points[static_cast<std::size_t>(i * dim + k)];
      if (!std::isfinite(v)) throw std::invalid_argument("PointGrid: point " + std::to_string(i) + " is not finite");
      lo_[k] = std::min(lo_[k], v);
      hi[k] = std::max(hi[k], v);
    }
  double volume = 1.0, longest = 0.0;
  for (int k = 0; k < dim; ++k) {
    longest = std::max(longest, hi[k] - lo_[k]);
  }
  for (int k = 0; k < dim; ++k) volume *= std::max(hi[k] - lo_[k], 1e-3 * longest);
  if (cell <= 0) cell = longest > 0 ? std::pow(2.0 * volume / static_cast<double>(n_), 1.0 / dim) : 1.0;
  // Cap the cell count near 8 n.
  const double max_cells = 8.0 * static_cast<double>(n_) + 64.0;
  for (;;) {
    double count = 1.0;
    for (int k = 0; k < dim; ++k) count *= std::floor((hi[k] - lo_[k]) / cell) + 1.0;
    if (count <= max_cells) break;
    cell *= 1.5;
  }
  cell_ = cell;
  std::int64_t total = 1;
  for (int k = 0; k < dim; ++k) {
    cells_[k] = static_cast<std::int64_t>(std::floor((hi[k] - lo_[k]) / cell)) + 1;
    total *= cells_[k];
  }
  // Counting sort of the points by cell.
  std::vector<std::int64_t> cell_index(static_cast<std::size_t>(n_));
  start_.assign(static_cast<std::size_t>(total) + 1, 0);
  for (std::int64_t i = 0; i < n_; ++i) {
    std::int64_t c[3] = {0, 0, 0};
    cell_of(&points[static_cast<std::size_t>(i * dim)], c);
    for (int k = 0; k < dim; ++k) c[k] = std::min(std::max<std::int64_t>(c[k], 0), cells_[k] - 1);
    cell_index[static_cast<std::size_t>(i)] = linear(c);
    ++start_[static_cast<std::size_t>(cell_index[static_cast<std::size_t>(i)]) + 1];
  }
  for (std::size_t l = 1; l < start_.size(); ++l) start_[l] += start_[l - 1];
  order_.resize(static_cast<std::size_t>(n_));
  std::vector<std::int64_t> fill(start_.begin(), start_.end() - 1);
  for (std::int64_t i = 0; i < n_; ++i)
    order_[static_cast<std::size_t>(fill[static_cast<std::size_t>(cell_index[static_cast<std::size_t>(i)])]++)] = i;
}

bool PointGrid::cell_of(const float* q, std::int64_t c[3]) const {
  bool inside = true;
  for (int k = 0; k < dim_; ++k) {
    c[k] = static_cast<std::int64_t>(std::floor((static_cast<double>(q[k]) - lo_[k]) / cell_));
    inside = inside && c[k] >= 0 && c[k] < cells_[k];
  }
  return inside;
}

std::int64_t PointGrid::linear(const std::int64_t c[3]) const {
  return c[0] + cells_[0] * (c[1] + cells_[1] * (dim_ == 3 ? c[2] : 0));
}

double PointGrid::dist2(const float* q, std::int64_t j) const {
  double d2 = 0.0;
  for (int k = 0; k < dim_; ++k) {
    const double d = static_cast<double>(q[k]) - points_[static_cast<std::size_t>(j * dim_ + k)];
    d2 += d * d;
  }
  return d2;
}

std::int64_t PointGrid::nearest(const float* q, double* out_dist2) const {
  std::int64_t best = -1;
  double best2 = std::numeric_limits<double>::infinity();
  if (n_ == 0) {
    if (out_dist2) *out_dist2 = best2;
    return best;
  }
  std::int64_t qc[3] = {0, 0, 0};
  cell_of(q, qc);
  // The farthest ring that still meets the grid.
  std::int64_t last_ring = 0;
  for (int k = 0; k < dim_; ++k)
    last_ring = std::max({last_ring, std::abs(qc[k]), std::abs(qc[k] - (cells_[k] - 1))});
  // The first ring that meets the grid (queries outside it start there).
  std::int64_t first_ring = 0;
  for (int k = 0; k < dim_; ++k)
    first_ring = std::max({first_ring, -qc[k], qc[k] - (cells_[k] - 1)});
  for (std::int64_t r = first_ring; r <= last_ring; ++r) {
    // Cells at Chebyshev distance r from the query's cell.
    std::int64_t lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
    for (int k = 0; k < dim_; ++k) {
      lo[k] = std::max<std::int64_t>(qc[k] - r, 0);
      hi[k] = std::min<std::int64_t>(qc[k] + r, cells_[k] - 1);
    }
    std::int64_t c[3] = {0, 0, 0};
    for (c[2] = lo[2]; c[2] <= hi[2]; ++c[2])
      for (c[1] = lo[1]; c[1] <= hi[1]; ++c[1])
        for (c[0] = lo[0]; c[0] <= hi[0]; ++c[0]) {
          std::int64_t cheb = 0;
          for (int k = 0; k < dim_; ++k) cheb = std::max(cheb, std::abs(c[k] - qc[k]));
          if (cheb != r) continue;
          const std::int64_t l = linear(c);
          for (std::int64_t s = start_[static_cast<std::size_t>(l)]; s < start_[static_cast<std::size_t>(l) + 1]; ++s) {
            const std::int64_t j = order_[static_cast<std::size_t>(s)];
            const double d2 = dist2(q, j);
            if (d2 < best2 || (d2 == best2 && j < best)) {
              best2 = d2;
              best = j;
            }
          }
        }
    // Every cell of ring r + 1 lies at least r cells away from q.
    const double bound = static_cast<double>(r) * cell_;
    if (best >= 0 && best2 <= bound * bound) break;
  }
  if (out_dist2) *out_dist2 = best2;
  return best;
}

}  // namespace lagrad
