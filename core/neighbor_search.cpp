// Entry points of the neighbor search: validation, index choice, dispatch to the kernel.
#include "core/neighbor_search.h"

#include <cstring>
#include <memory>
#include <stdexcept>

#include "core/neighbor_checks.h"
#include "core/neighbor_search_kernel.h"
#include "core/spatial_hash.h"

namespace lagrad {

Metric parse_metric(const std::string& name) {
  if (name == "L1") return Metric::L1;
  if (name == "L2") return Metric::L2;
  if (name == "Linf") return Metric::Linf;
  throw std::invalid_argument("parse_metric: unknown metric '" + name + "' (expected 'L1', 'L2' or 'Linf')");
}

std::string metric_name(Metric m) {
  switch (m) {
    case Metric::L1: return "L1";
    case Metric::L2: return "L2";
    case Metric::Linf: return "Linf";
  }
  return "?";
}

namespace {

// The cell size of an index built for one search: the radius, or any positive size for 0.
float cell_for_radius(float r) { return r > 0 ? r : 1.0f; }

void set_empty(Index num_queries, NeighborList& out) {
  out.row_splits.assign(num_queries + 1, 0);
  out.neighbors_index.clear();
  out.distances.clear();
}

// Queries in the index's row grid; the index's own sorted points when queries are its points.
const SortedPoints& sorted_queries(const SpatialHashIndex::Impl& ix, const float* points,
                                   const float* queries, Index num_queries, SortedPoints& storage) {
  if (queries == points && num_queries == ix.sorted.size()) return ix.sorted;
  sort_into_rows(queries, num_queries, ix.inv_row_width, storage);
  return storage;
}

}  // namespace

void fixed_radius_search(const float* points, Index num_points, const float* queries,
                         Index num_queries, float radius, const RadiusSearchOptions& options,
                         const SpatialHashIndex* index, NeighborList& out) {
  const std::string fn = "fixed_radius_search";
  check_count(fn.c_str(), "num_points", num_points);
  check_count(fn.c_str(), "num_queries", num_queries);
  check_radius(fn.c_str(), "radius", radius);
  if (index) {
    if (index->num_points() != num_points)
      throw std::invalid_argument(fn + ": index holds " + std::to_string(index->num_points()) +
                                  " points, expected num_points = " + std::to_string(num_points));
    if (radius > index->cell_size())
      throw std::invalid_argument(fn + ": radius " + format_float(radius) + " exceeds the index cell_size " +
                                  format_float(index->cell_size()));
    if (num_points > 0 && points == nullptr) check_points(fn.c_str(), "points", points, num_points);
    // Equal to the index's (validated) points, so finite: no need to check them again.
    if (num_points > 0 && index->points() != points &&
        std::memcmp(index->points(), points, sizeof(float) * 3 * static_cast<size_t>(num_points)) != 0)
      throw std::invalid_argument(fn + ": index was built over other points than `points`");
  } else {
    check_points(fn.c_str(), "points", points, num_points);
  }
  if (!(queries == points && num_queries <= num_points)) check_points(fn.c_str(), "queries", queries, num_queries);
  if (num_points == 0 || num_queries == 0) return set_empty(num_queries, out);

  SpatialHashIndex::Impl own;  // a one-off index needs no copy of the points
  if (!index) build_spatial_hash(points, num_points, cell_for_radius(radius), false, own);
  const SpatialHashIndex::Impl& ix = index ? index->impl() : own;
  SortedPoints storage;
  const SortedPoints& qs = sorted_queries(ix, points, queries, num_queries, storage);
  run_radius_search({&ix, &qs, radius, nullptr, radius}, options, out);
}

NeighborList fixed_radius_search(const float* points, Index num_points, const float* queries,
                                 Index num_queries, float radius, const RadiusSearchOptions& options,
                                 const SpatialHashIndex* index) {
  NeighborList out;
  fixed_radius_search(points, num_points, queries, num_queries, radius, options, index, out);
  return out;
}

NeighborList radius_search(const float* points, Index num_points, const float* queries,
                           Index num_queries, const float* radii, const RadiusSearchOptions& options) {
  const char* fn = "radius_search";
  check_count(fn, "num_points", num_points);
  check_count(fn, "num_queries", num_queries);
  const float max_radius = check_radii(fn, "radii", radii, num_queries);
  check_points(fn, "points", points, num_points);
  if (!(queries == points && num_queries <= num_points)) check_points(fn, "queries", queries, num_queries);
  NeighborList out;
  if (num_points == 0 || num_queries == 0) {
    set_empty(num_queries, out);
    return out;
  }
  // One index at the largest radius; a query with a smaller radius prunes more rows and tests
  // with its own radius.
  SpatialHashIndex::Impl ix;
  build_spatial_hash(points, num_points, cell_for_radius(max_radius), false, ix);
  SortedPoints storage;
  const SortedPoints& qs = sorted_queries(ix, points, queries, num_queries, storage);
  run_radius_search({&ix, &qs, 0.0f, radii, max_radius}, options, out);
  return out;
}

}  // namespace lagrad
