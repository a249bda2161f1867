#pragma once
// A uniform grid over a point cloud in 2 or 3 dimensions, for the nearest-neighbour and
// fixed-radius queries of the benchmark metrics (chamfer_two_way, density_error). Points are
// flat [n, dim] float arrays, as in LagrangeBench's frames. Not periodic.
#include <cstdint>
#include <vector>

namespace lagrad {

class PointGrid {
 public:
  // cell <= 0 picks a cell holding about two points on average. The number of cells is capped
  // near 8 n (cells grow for clouds with far outliers, e.g. a rollout that blew up).
  PointGrid(const std::vector<float>& points, int dim, double cell = 0.0);

  // Index and squared distance of the point nearest q (q has dim entries); -1 for an empty cloud.
  std::int64_t nearest(const float* q, double* dist2) const;
  // Calls f(j, squared distance) for every point j with squared distance < radius^2.
  template <class F>
  void for_each_within(const float* q, double radius, F&& f) const;

  int dim() const { return dim_; }
  std::int64_t size() const { return n_; }

 private:
  bool cell_of(const float* q, std::int64_t c[3]) const;  // unclamped cell coordinates
  std::int64_t linear(const std::int64_t c[3]) const;
  double dist2(const float* q, std::int64_t j) const;

  const std::vector<float>& points_;
  int dim_;
  std::int64_t n_;
  double cell_ = 1.0;
  double lo_[3] = {0, 0, 0};
  std::int64_t cells_[3] = {1, 1, 1};
  std::vector<std::int64_t> start_;  // [ncells + 1] offsets into order_
  std::vector<std::int64_t> order_;  // point indices sorted by cell
};

template <class F>
void PointGrid::for_each_within(const float* q, double radius, F&& f) const {
  if (n_ == 0) return;
  const double r2 = radius * radius;
  std::int64_t lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
  for (int k = 0; k < dim_; ++k) {
    const double a = (static_cast<double>(q[k]) - radius - lo_[k]) / cell_;
    const double b = (static_cast<double>(q[k]) + radius - lo_[k]) / cell_;
    if (b < 0 || a >= static_cast<double>(cells_[k])) return;
    lo[k] = a < 0 ? 0 : static_cast<std::int64_t>(a);
    hi[k] = b >= static_cast<double>(cells_[k]) ? cells_[k] - 1 : static_cast<std::int64_t>(b);
  }
  std::int64_t c[3];
  for (c[2] = lo[2]; c[2] <= hi[2]; ++c[2])
    for (c[1] = lo[1]; c[1] <= hi[1]; ++c[1])
      for (c[0] = lo[0]; c[0] <= hi[0]; ++c[0]) {
        const std::int64_t l = linear(c);
        for (std::int64_t s = start_[static_cast<std::size_t>(l)]; s < start_[static_cast<std::size_t>(l) + 1]; ++s) {
          const std::int64_t j = order_[static_cast<std::size_t>(s)];
          const double d2 = dist2(q, j);
          if (d2 < r2) f(j, d2);
        }
      }
}

}  // namespace lagrad
