#pragma once
// Internal to core: the radius search over a SpatialHashIndex (no validation here).
#include "neighbor_search.h"
#include "spatial_hash.h"

namespace lagrad {

struct RadiusSearchJob {
  const SpatialHashIndex::Impl* index;
  const SortedPoints* queries;  // in the index's row grid; its rows are the query groups
  float radius;                 // the radius of every query when radii is null
  const float* radii;           // per original query index, or null
  float max_radius;             // <= the index cell size
};

// One traversal of the queries in fixed chunks writes each chunk's rows into a pooled
// chunk buffer and the row lengths into out.row_splits; a scan makes the offsets, and a
// parallel copy moves the rows into place. `out`'s buffers are reused where large enough.
void run_radius_search(const RadiusSearchJob& job, const RadiusSearchOptions& options,
                       NeighborList& out);

}  // namespace lagrad
