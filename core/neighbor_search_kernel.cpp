#include "core/neighbor_search_kernel.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "core/neighbor_search_block.h"
#include "core/neighbor_search_row_sort.h"
#include "core/neighbor_search_scratch.h"
#include "core/parallel.h"

namespace lagrad {

namespace {

using nsearch::BlockSource;
using nsearch::ChunkHits;

// Relative slack on the radius for everything that only narrows the candidate set (row reach,
// row pruning, x-window): the float distance test may accept a point whose exact distance is a
// few ulps above the radius, and such a point must still be a candidate.
constexpr double kSlack = 1e-5;
// Most rows visited on each side of the query's row (radius <= cell size needs 1).
constexpr int kMaxReach = 2;
constexpr int kMaxRows = (2 * kMaxReach + 1) * (2 * kMaxReach + 1);
// Queries (in sorted order) per chunk: the unit of parallel work and of hit buffering. Fixed,
// so the result does not depend on the thread count.
constexpr Index kChunkQueries = 512;
// Consecutive queries of a group that share one x-window per row.
constexpr Index kTile = 4;

// The value the metric distance is compared to (inclusive): r^2 for L2, r otherwise.
template <Metric M>
inline float metric_threshold(float r) {
  return M == Metric::L2 ? r * r : r;
}

float round_down(double v) {
  if (v >= FLT_MAX) return FLT_MAX;
  if (v <= -FLT_MAX) return -INFINITY;
  const float f = static_cast<float>(v);
  return f > v ? std::nextafter(f, -INFINITY) : f;
}

float round_up(double v) {
  if (v <= -FLT_MAX) return -FLT_MAX;
  if (v >= FLT_MAX) return INFINITY;
  const float f = static_cast<float>(v);
  return f < v ? std::nextafter(f, INFINITY) : f;
}

// True when a row at distances (gy, gz) >= 0 from the query in y and z holds no point within r.
template <Metric M>
inline bool row_out_of_reach(double gy, double gz, double r) {
  if constexpr (M == Metric::L2) return gy * gy + gz * gz > r * r;
  if constexpr (M == Metric::L1) return gy + gz > r;
  return std::max(gy, gz) > r;
}

int reach_of(const RadiusSearchJob& job) {
  const double rows =
      std::ceil(static_cast<double>(job.max_radius) * (1 + kSlack) * job.index->inv_row_width);
  if (rows > kMaxReach) throw std::logic_error("radius search: radius exceeds the index cell size");
  return static_cast<int>(rows);
}

// A row of the index around the current query group, with its current x-window [lo, hi).
struct NeighborRow {
  Index end, lo, hi;
  int iy, iz;  // row offset + reach: index into the per-query gap arrays
};

// The queries [qb, qe) in sorted order, group by group (a group is a row of queries, which
// sees the same rows of points; their x-windows slide forward as the query x grows). Appends
// each query's hits to `hits` (rows back to back, in the order of the queries) and writes its
// row length to counts[q] (q the original query index). Hits come in index order, i.e. sorted
// by (row z, row y, x); `sort` sorts each row by point id.
template <class Tester, Metric M, bool kIgnore>
LAGRAD_HOT void search_range(const RadiusSearchJob& job, int reach, Index qb, Index qe, bool sort,
                             Index* counts, ChunkHits& hits) {
  constexpr Index kL = Tester::kLanes;
  const SpatialHashIndex::Impl& ix = *job.index;
  const SortedPoints& pts = ix.sorted;
  const SortedPoints& qs = *job.queries;
  const BlockSource src{pts.x.data(), pts.y.data(), pts.z.data(), pts.ids.data()};
  const float* px = src.x;
  const bool int32_ids = pts.size() <= INT32_MAX;
  const double w = ix.row_width;
  const double reach_radius = static_cast<double>(job.max_radius) * (1 + kSlack);

  NeighborRow rows[kMaxRows];
  double gap_y[2 * kMaxReach + 1], gap_z[2 * kMaxReach + 1];
  Index used = 0;

  Index g = std::upper_bound(qs.rows.begin(), qs.rows.end(), qb,
                             [](Index v, const SortedPoints::Row& r) { return v < r.begin; }) -
            qs.rows.begin() - 1;
  for (Index pos = qb; pos < qe; ++g) {
    const SortedPoints::Row& grp = qs.rows[g];
    const Index gend = std::min(grp.end, qe);

    int num_rows = 0;
    {
      const float xlo = round_down(qs.x[pos] - reach_radius);
      const float xhi = round_up(qs.x[pos] + reach_radius);
      for (int dz = -reach; dz <= reach; ++dz) {
        for (int dy = -reach; dy <= reach; ++dy) {
          const Index id = ix.find_row(grp.cy + dy, grp.cz + dz);
          if (id < 0) continue;
          const SortedPoints::Row& r = pts.rows[id];
          NeighborRow& nr = rows[num_rows++];
          nr.end = r.end;
          nr.lo = std::lower_bound(px + r.begin, px + r.end, xlo) - px;
          nr.hi = std::upper_bound(px + nr.lo, px + r.end, xhi) - px;
          nr.iy = dy + reach;
          nr.iz = dz + reach;
        }
      }
    }
    // Row pruning uses the row edges, meaningless where coordinates were clamped.
    const bool prune = std::max(std::llabs(grp.cy), std::llabs(grp.cz)) < kMaxRowCoord / 2;
    const double slack_y = 1e-9 * w * (std::fabs(double(grp.cy)) + reach + 2);
    const double slack_z = 1e-9 * w * (std::fabs(double(grp.cz)) + reach + 2);

    for (; pos < gend; pos = std::min(pos + kTile, gend)) {
      // One x-window per row for a tile of consecutive queries: sliding it costs a few
      // unpredictable branches, which matter more than the few extra candidates.
      const Index tile_end = std::min(pos + kTile, gend);
      const float xlo = round_down(qs.x[pos] - reach_radius);
      const float xhi = round_up(qs.x[tile_end - 1] + reach_radius);
      Index candidates = 0;
      for (int k = 0; k < num_rows; ++k) {
        NeighborRow& nr = rows[k];
        while (nr.lo < nr.end && px[nr.lo] < xlo) ++nr.lo;
        nr.hi = std::max(nr.hi, nr.lo);
        while (nr.hi < nr.end && px[nr.hi] <= xhi) ++nr.hi;
        candidates += nr.hi - nr.lo;
      }
      // Room for every candidate of the tile, plus one vector written past the last hit.
      hits.reserve(used + (tile_end - pos) * candidates + kL, used);
      std::uint32_t* ids = hits.ids.data();
      float* dist = hits.dist.data();

      for (Index s = pos; s < tile_end; ++s) {
        const float qx = qs.x[s], qy = qs.y[s], qz = qs.z[s];
        const Index q = qs.ids[s];
        const float r = job.radii ? job.radii[q] : job.radius;
        const Tester tester(qx, qy, qz, metric_threshold<M>(r));
        const double rr = static_cast<double>(r) * (1 + kSlack);
        for (int d = 1; d <= reach; ++d) {
          // Distance from the query to the strips of rows cy +- d, less a rounding slack.
          gap_y[reach + d] = prune ? std::max((grp.cy + d) * w - qy - slack_y, 0.0) : 0.0;
          gap_y[reach - d] = prune ? std::max(qy - (grp.cy - d + 1) * w - slack_y, 0.0) : 0.0;
          gap_z[reach + d] = prune ? std::max((grp.cz + d) * w - qz - slack_z, 0.0) : 0.0;
          gap_z[reach - d] = prune ? std::max(qz - (grp.cz - d + 1) * w - slack_z, 0.0) : 0.0;
        }
        gap_y[reach] = gap_z[reach] = 0.0;

        const Index start = used;
        for (int k = 0; k < num_rows; ++k) {
          const NeighborRow& nr = rows[k];
          if (nr.lo == nr.hi || row_out_of_reach<M>(gap_y[nr.iy], gap_z[nr.iz], rr)) continue;
          Index j = nr.lo;
          for (; j + kL <= nr.hi; j += kL) used += tester.test(src, j, kL, ids + used, dist + used);
          if (j < nr.hi) used += tester.test(src, j, nr.hi - j, ids + used, dist + used);
        }
        counts[q] = used - start;
        if (sort) nsearch::sort_row(hits.sort, used - start, int32_ids, ids + start, dist + start);
      }
    }
  }
}

template <Metric M, bool kIgnore>
LAGRAD_HOT void search_range_isa(const RadiusSearchJob& job, int reach, Index qb, Index qe, bool sort,
                                 Index* counts, ChunkHits& hits) {
#if defined(LAGRAD_NSEARCH_AVX512)
  search_range<nsearch::BlockTester16<M, kIgnore>, M, kIgnore>(job, reach, qb, qe, sort, counts, hits);
#else
  search_range<nsearch::BlockTester<M, kIgnore>, M, kIgnore>(job, reach, qb, qe, sort, counts, hits);
#endif
}

// One chunk of queries for one (metric, ignore) variant. On x86-64 GCC/Clang without -mavx2
// this is compiled twice, for the baseline (SSE2) and for AVX2, and the loader picks the clone
// the CPU supports (no FMA in either, so both give bitwise the same results).
#if defined(LAGRAD_AVX2_CLONE)
__attribute__((target_clones("avx2", "default")))
#endif
void search_chunk(int variant, const RadiusSearchJob& job, int reach, Index qb, Index qe, bool sort,
                  Index* counts, ChunkHits& hits) {
  switch (variant) {
#define LAGRAD_CASE(i, m, ig) \
  case i: return search_range_isa<m, ig>(job, reach, qb, qe, sort, counts, hits);
    LAGRAD_CASE(0, Metric::L1, false)
    LAGRAD_CASE(1, Metric::L1, true)
    LAGRAD_CASE(2, Metric::L2, false)
    LAGRAD_CASE(3, Metric::L2, true)
    LAGRAD_CASE(4, Metric::Linf, false)
    LAGRAD_CASE(5, Metric::Linf, true)
#undef LAGRAD_CASE
  }
}

// In-place inclusive prefix sum, in fixed chunks.
void inclusive_scan(Index* a, Index n) {
  constexpr Index kChunk = Index(1) << 15;
  const Index nc = num_chunks(n, kChunk);
  std::vector<Index> sums(nc);
  parallel_for(nc, 1, [&](Index cb, Index ce) {
    for (Index c = cb; c < ce; ++c) {
      const Index e = std::min(n, (c + 1) * kChunk);
      for (Index i = c * kChunk + 1; i < e; ++i) a[i] += a[i - 1];
      sums[c] = a[e - 1];
    }
  });
  for (Index c = 1; c < nc; ++c) sums[c] += sums[c - 1];
  parallel_for(nc, 1, [&](Index cb, Index ce) {
    for (Index c = std::max<Index>(cb, 1); c < ce; ++c) {
      const Index e = std::min(n, (c + 1) * kChunk);
      for (Index i = c * kChunk; i < e; ++i) a[i] += sums[c - 1];
    }
  });
}

// Moves the rows of one chunk from its hit buffer to their places in the CSR.
void copy_rows(const SortedPoints& qs, Index qb, Index qe, const Index* splits, const ChunkHits& hits,
               Index* neighbors, float* distances) {
  const std::uint32_t* ids = hits.ids.data();
  const float* dist = hits.dist.data();
  Index from = 0;
  for (Index s = qb; s < qe; ++s) {
    const Index q = qs.ids[s];
    const Index to = splits[q], n = splits[q + 1] - to;
    Index* nb = neighbors + to;
    for (Index i = 0; i < n; ++i) nb[i] = ids[from + i];
    if (distances) std::memcpy(distances + to, dist + from, sizeof(float) * n);
    from += n;
  }
}

}  // namespace

void run_radius_search(const RadiusSearchJob& job, const RadiusSearchOptions& options,
                       NeighborList& out) {
  const int metric = options.metric == Metric::L1 ? 0 : options.metric == Metric::L2 ? 1 : 2;
  const int variant = 2 * metric + (options.ignore_query_points ? 1 : 0);
  const int reach = reach_of(job);
  const SortedPoints& qs = *job.queries;
  const Index nq = qs.size();
  const Index nc = num_chunks(nq, kChunkQueries);
  nsearch::ScratchLease scratch;
  std::vector<ChunkHits>& chunks = scratch->chunks;
  if (static_cast<Index>(chunks.size()) < nc) chunks.resize(nc);

  out.row_splits.resize(nq + 1);
  Index* splits = out.row_splits.data();
  splits[0] = 0;
  parallel_for(nc, 1, [&](Index cb, Index ce) {
    for (Index c = cb; c < ce; ++c)
      search_chunk(variant, job, reach, c * kChunkQueries, std::min(nq, (c + 1) * kChunkQueries),
                   options.sort_neighbors, splits + 1, chunks[c]);
  });
  inclusive_scan(splits + 1, nq);
  const Index total = splits[nq];
  // resize keeps the capacity and only zero-fills growth, so a reused NeighborList is cheap.
  out.neighbors_index.resize(total);
  out.distances.resize(options.return_distances ? total : 0);
  Index* nb = out.neighbors_index.data();
  float* dist = options.return_distances ? out.distances.data() : nullptr;
  parallel_for(nc, 1, [&](Index cb, Index ce) {
    for (Index c = cb; c < ce; ++c)
      copy_rows(qs, c * kChunkQueries, std::min(nq, (c + 1) * kChunkQueries), splits, chunks[c], nb, dist);
  });
}

}  // namespace lagrad
