#pragma once
// Internal to core: the two-pass radius search over a SpatialHashIndex (no validation here).
#include "core/neighbor_search.h"
#include "core/spatial_hash.h"

namespace lagrad {

struct RadiusSearchJob {
  const SpatialHashIndex::Impl* index;
  const SortedPoints* queries;  // in the index's row grid; its rows are the query groups
  float radius;                 // the radius of every query when radii is null
  const float* radii;           // per original query index, or null
  float max_radius;             // <= the index cell size
};

// Pass 1 counts each query's neighbors into out.row_splits, a scan makes the offsets, pass 2
// writes each row sorted by point index. `out`'s buffers are reused where large enough.
void run_radius_search(const RadiusSearchJob& job, const RadiusSearchOptions& options,
                       NeighborList& out);

}  // namespace lagrad
