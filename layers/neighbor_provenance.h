#pragma once
// Where a shared neighbor list came from, and the check that it fits a layer call.
//
// A list from cconv_radius_search is only right for the positions, extents, metric and
// ignore_query_points it was searched with; handed to a layer call with other ones it would
// silently change the output. So the list records them (NeighborProvenance) and the layers
// refuse a list that does not match their call. Positions and extents are recorded by counts,
// shapes and a 64-bit fingerprint of their values, not by the tensors' storage: storage is
// rewritten in place (`lagrad run` reuses its position tensors from step to step), and a copy
// with equal values is as good as the original. See docs/continuous_conv.md.
#include <cstdint>

#include "../core/neighbor_search.h"
#include "../core/tensor.h"

namespace lagrad {

struct NeighborProvenance {
  bool recorded = false;  // false for a list not made by cconv_radius_search
  Index num_queries = 0;  // rows
  Index num_points = 0;   // columns
  // The extents as the search reads them: one value for [], [1] and [1, 1] (then `extent`
  // holds it), [M, 1] as [M]; with a fingerprint of the values.
  Shape extents_shape;
  float extent = 0.0f;
  std::uint64_t extents_fingerprint = 0;
  Metric metric = Metric::L2;
  bool ignore_query_points = false;
  std::uint64_t points_fingerprint = 0;   // of the coordinates' bits
  std::uint64_t queries_fingerprint = 0;
  // The index the search used; compared with a call's hash_table, never dereferenced.
  const SpatialHashIndex* hash_table = nullptr;
};

// A search result that carries its provenance (what cconv_radius_search returns).
struct CConvNeighborList : NeighborList {
  NeighborProvenance provenance;
};

// Records a search of `points` (columns, [N, 3]) around `queries` (rows, [M, 3]); the caller
// has validated the arguments. O(N + M + extents) hashing.
NeighborProvenance record_neighbor_provenance(const Tensor& points, const Tensor& queries, const Tensor& extents,
                                              Metric metric, bool ignore_query_points,
                                              const SpatialHashIndex* hash_table);

// How a layer names the rows and columns of its lists in messages.
struct NeighborRoles {
  const char* layer;       // "ContinuousConv"
  const char* rows;        // "out_positions"
  const char* rows_count;  // "num_out"
  const char* cols;        // "inp_positions"
  const char* cols_count;  // "num_inp"
};

// Throws std::invalid_argument "<layer>: neighbors were searched with <A>, this call uses <B>"
// unless `p` records exactly this call's search. A call's hash_table, when given, must be the
// list's. Positions that are not [n, 3] are left to the op to report.
void check_neighbor_provenance(const NeighborProvenance& p, const NeighborRoles& roles, const Tensor& points,
                               const Tensor& queries, const Tensor& extents, Metric metric,
                               bool ignore_query_points, const SpatialHashIndex* hash_table);

}  // namespace lagrad
