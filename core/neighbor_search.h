#pragma once
// Fixed-radius and per-query radius neighbor search on 3-D points, results in CSR form.
//
// Rows are in a deterministic order, bitwise the same for any thread count: the index's
// spatial order by default, ascending point index with RadiusSearchOptions::sort_neighbors.
// The spatial index stores occupied cells only, so memory is O(points), never O(bounding box).
// Point and query counts must be below 2^32.
// See docs/neighbor_search.md.
#include <memory>
#include <string>
#include <vector>

#include "shape.h"

namespace lagrad {

enum class Metric { L1, L2, Linf };
// "L1", "L2", "Linf"; throws std::invalid_argument naming the value and the choices.
Metric parse_metric(const std::string& name);
std::string metric_name(Metric m);

struct NeighborList {
  IndexVector neighbors_index;   // point indices, concatenated rows
  IndexVector row_splits;        // size num_queries + 1, row q = [row_splits[q], row_splits[q+1])
  std::vector<float> distances;  // per entry; squared distance for L2, plain distance for L1/Linf
  Index num_queries() const { return static_cast<Index>(row_splits.size()) - 1; }
  Index num_neighbors() const { return static_cast<Index>(neighbors_index.size()); }
};

struct RadiusSearchOptions {
  Metric metric = Metric::L2;
  bool ignore_query_points = false;  // skip points at exactly the query position
  bool return_distances = true;
  // Rows sorted by ascending point index. Off: each row lists its neighbors in the spatial order
  // of the index (by row z, row y, then x; rows of the index's cell size), which saves a sort
  // per row. Either order is deterministic and independent of the thread count.
  bool sort_neighbors = false;
};

// A reusable spatial hash over a point set (Open3D's fixed_radius_search_hash_table). Built
// for a given cell size (normally the search radius); searches with a radius up to the cell
// size reuse it. The point array is copied, so the index is self-contained. Throws
// std::invalid_argument for non-finite coordinates or a cell size that is not finite and > 0.
class SpatialHashIndex {
 public:
  SpatialHashIndex(const float* points, Index num_points, float cell_size);
  ~SpatialHashIndex();
  SpatialHashIndex(SpatialHashIndex&&) noexcept;
  SpatialHashIndex& operator=(SpatialHashIndex&&) noexcept;

  Index num_points() const;
  float cell_size() const;
  const float* points() const;
  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// Neighbors of each query within `radius` (inclusive: d <= radius, for L2 d^2 <= radius^2 in
// float) of the points. If `index` is given it must have been built over the same point values
// (checked) with cell_size >= radius (checked). Throws std::invalid_argument naming the
// argument for a negative/NaN radius, non-finite coordinates, negative counts, null arrays.
NeighborList fixed_radius_search(const float* points, Index num_points, const float* queries,
                                 Index num_queries, float radius,
                                 const RadiusSearchOptions& options = {},
                                 const SpatialHashIndex* index = nullptr);

// The same, writing into `out` and reusing its buffers: when the new result fits in them there
// is no allocation and no zero-fill, which matters for searches repeated every step.
void fixed_radius_search(const float* points, Index num_points, const float* queries,
                         Index num_queries, float radius, const RadiusSearchOptions& options,
                         const SpatialHashIndex* index, NeighborList& out);

// Like fixed_radius_search with a radius per query (radii[num_queries]).
NeighborList radius_search(const float* points, Index num_points, const float* queries,
                           Index num_queries, const float* radii,
                           const RadiusSearchOptions& options = {});

// The inverse list: for each point, the (query, entry) pairs that list it, as CSR over points.
// Entries are sorted by query index. Used by gradients that gather instead of scatter.
struct InvertedNeighborList {
  IndexVector query_index;  // the query of each entry
  IndexVector entry_index;  // position of the entry in the forward list
  IndexVector row_splits;   // size num_points + 1
};
InvertedNeighborList invert_neighbor_list(const IndexVector& neighbors_index,
                                          const IndexVector& row_splits, Index num_points);

}  // namespace lagrad
