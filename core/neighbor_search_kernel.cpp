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
// Queries per task of the copy into the CSR.
constexpr Index kCopyGrain = 2048;
// How many rows ahead the copy prefetches its source.
constexpr Index kCopyPrefetch = 8;

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

struct ChunkOptions {
  bool sort;       // rows by point id
  bool distances;  // keep the distances
};

// A row of the index around the current query group, with its current x-window [lo, hi).
struct NeighborRow {
  Index end, lo, hi;
  int iy, iz;  // row offset + reach: index into the per-query gap arrays
};

// The queries [qb, qe) in sorted order, group by group (a group is a row of queries, which
// sees the same rows of points; their x-windows slide forward as the query x grows). Appends
// each query's hits to `hits` (rows back to back, in the order of the queries), writes its
// row length to counts[q] and chunk_tag | (row start in `hits`) to where[q] (q the original
// query index). Hits come in index order, i.e. sorted by (row z, row y, x, id); `sort` sorts
// each row by point id.
template <class Tester, Metric M, bool kIgnore>
LAGRAD_HOT void search_range(const RadiusSearchJob& job, int reach, Index qb, Index qe, const ChunkOptions& co,
                             Index* counts, std::uint64_t* where, std::uint64_t chunk_tag, ChunkHits& hits) {
  constexpr Index kL = Tester::kLanes;
  const SpatialHashIndex::Impl& ix = *job.index;
  const SortedPoints& pts = ix.sorted;
  const SortedPoints& qs = *job.queries;
  const BlockSource src{pts.x.data(), pts.y.data(), pts.z.data(), pts.ids.data()};
  const float* px = src.x;
  const bool int32_ids = pts.size() <= INT32_MAX;
  const double w = ix.row_width;
  const double reach_radius = static_cast<double>(job.max_radius) * (1 + kSlack);

  constexpr Index kTile = Tester::kTile;
  NeighborRow rows[kMaxRows];
  alignas(64) float junk[Tester::kLanes];  // distances nobody asked for are stored here
  double gap_y[kTile][2 * kMaxReach + 1], gap_z[kTile][2 * kMaxReach + 1];
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
      // The tile's queries share one x-window per row and every block load: sliding windows
      // and looping over blocks cost unpredictable branches, which matter more than the few
      // extra candidates.
      const Index tile_end = std::min(pos + kTile, gend);
      const Index nt = tile_end - pos;
      const float xlo = round_down(qs.x[pos] - reach_radius);
      const float xhi = round_up(qs.x[tile_end - 1] + reach_radius);
      Index candidates = 0;
      for (int k = 0; k < num_rows; ++k) {
        NeighborRow& nr = rows[k];
        nr.lo = Tester::template skip_below<false>(px, nr.lo, nr.end, xlo);
        nr.hi = Tester::template skip_below<true>(px, std::max(nr.hi, nr.lo), nr.end, xhi);
        candidates += nr.hi - nr.lo;
      }
      // Query t of the tile collects its hits at used + t * stride; the rows are closed up
      // afterwards. Room for every candidate plus one vector written past the last hit.
      const Index stride = candidates + kL;
      hits.reserve(used + kTile * stride, used, co.distances);
      std::uint32_t* ids = hits.ids.data();
      float* dist = co.distances ? hits.dist.data() : nullptr;

      typename Tester::Query tq[kTile];
      double rr[kTile];
      for (Index t = 0; t < kTile; ++t) {
        // Missing queries of a short tile get a negative threshold: never a hit.
        const Index s = pos + std::min(t, nt - 1);
        const float r = job.radii ? job.radii[qs.ids[s]] : job.radius;
        tq[t] = Tester::query(qs.x[s], qs.y[s], qs.z[s], t < nt ? metric_threshold<M>(r) : -1.0f);
        rr[t] = static_cast<double>(r) * (1 + kSlack);
        for (int d = 1; d <= reach; ++d) {
          // Distance from the query to the strips of rows cy +- d, less a rounding slack.
          const double qy = qs.y[s], qz = qs.z[s];
          gap_y[t][reach + d] = prune ? std::max((grp.cy + d) * w - qy - slack_y, 0.0) : 0.0;
          gap_y[t][reach - d] = prune ? std::max(qy - (grp.cy - d + 1) * w - slack_y, 0.0) : 0.0;
          gap_z[t][reach + d] = prune ? std::max((grp.cz + d) * w - qz - slack_z, 0.0) : 0.0;
          gap_z[t][reach - d] = prune ? std::max(qz - (grp.cz - d + 1) * w - slack_z, 0.0) : 0.0;
        }
        gap_y[t][reach] = gap_z[t][reach] = 0.0;
      }

      Index count[kTile] = {};
      for (int k = 0; k < num_rows; ++k) {
        const NeighborRow& nr = rows[k];
        if (nr.lo == nr.hi) continue;
        // A row is skipped when out of every query's reach; the distance test handles the rest.
        bool needed = false;
        for (Index t = 0; t < nt; ++t) needed |= !row_out_of_reach<M>(gap_y[t][nr.iy], gap_z[t][nr.iz], rr[t]);
        if (!needed) continue;
        typename Tester::Block blk;
        auto test_all = [&]() __attribute__((always_inline)) {
          for (Index t = 0; t < kTile; ++t) {
            const Index at = used + t * stride + count[t];
            count[t] += Tester::test(blk, tq[t], ids + at, dist ? dist + at : junk);
            // Keeps each count in a general register: GCC otherwise packs the counts into one
            // vector and round-trips it through memory on every block.
            asm("" : "+r"(count[t]));
          }
        };
        Index j = nr.lo;
        for (; j + kL <= nr.hi; j += kL) {
          Tester::load(src, j, kL, blk);
          test_all();
        }
        if (j < nr.hi) {
          Tester::load(src, j, nr.hi - j, blk);
          test_all();
        }
      }
      const Index base = used;
      for (Index t = 0; t < nt; ++t) {
        const Index q = qs.ids[pos + t];
        // Region t starts at base + t * stride >= used: closing up moves it down. The vector
        // copy may write kL entries past used + count[t], below the region t + 1 still to move.
        if (t > 0) Tester::move_hits(ids, dist, used, base + t * stride, count[t]);
        counts[q] = count[t];
        where[q] = chunk_tag | static_cast<std::uint64_t>(used);
        if (co.sort) nsearch::sort_row(hits.sort, count[t], int32_ids, ids + used, dist ? dist + used : nullptr);
        used += count[t];
      }
    }
  }
  hits.trim(used, co.distances);
}

template <Metric M, bool kIgnore>
LAGRAD_HOT void search_range_isa(const RadiusSearchJob& job, int reach, Index qb, Index qe, const ChunkOptions& co,
                                 Index* counts, std::uint64_t* where, std::uint64_t chunk_tag, ChunkHits& hits) {
#if defined(LAGRAD_NSEARCH_AVX512)
  search_range<nsearch::BlockTester16<M, kIgnore>, M, kIgnore>(job, reach, qb, qe, co, counts, where, chunk_tag, hits);
#else
  search_range<nsearch::BlockTester<M, kIgnore>, M, kIgnore>(job, reach, qb, qe, co, counts, where, chunk_tag, hits);
#endif
}

// One chunk of queries for one (metric, ignore) variant. On x86-64 GCC/Clang without -mavx2
// this is compiled twice, for the baseline (SSE2) and for AVX2, and the loader picks the clone
// the CPU supports (no FMA in either, so both give bitwise the same results).
#if defined(LAGRAD_AVX2_CLONE)
__attribute__((target_clones("avx2", "default")))
#endif
void search_chunk(int variant, const RadiusSearchJob& job, int reach, Index qb, Index qe, const ChunkOptions& co,
                  Index* counts, std::uint64_t* where, std::uint64_t chunk_tag, ChunkHits& hits) {
  switch (variant) {
#define LAGRAD_CASE(i, m, ig) \
  case i: return search_range_isa<m, ig>(job, reach, qb, qe, co, counts, where, chunk_tag, hits);
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

// One row from a chunk buffer to the CSR arrays (ids widened to Index).
inline void copy_row(const std::uint32_t* ids, const float* dist, Index n, Index* nb, float* nd) {
#if defined(LAGRAD_NSEARCH_AVX512)
  // Masked 16-lane copies: a row is a few vectors, a libc call per row would dominate.
  for (Index i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    const __m512i v = _mm512_maskz_loadu_epi32(m, ids + i);
    _mm512_mask_storeu_epi64(nb + i, static_cast<__mmask8>(m), _mm512_cvtepu32_epi64(_mm512_castsi512_si256(v)));
    _mm512_mask_storeu_epi64(nb + i + 8, static_cast<__mmask8>(m >> 8),
                             _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(v, 1)));
    if (nd) _mm512_mask_storeu_ps(nd + i, m, _mm512_maskz_loadu_ps(m, dist + i));
  }
#else
  for (Index i = 0; i < n; ++i) nb[i] = ids[i];
  if (nd) std::memcpy(nd, dist, sizeof(float) * n);
#endif
}

// Copies the rows of the queries [qb, qe) (original order) from the chunk buffers into the
// CSR: the writes are sequential, the reads one contiguous run per row. (Non-temporal stores
// through a staging buffer were tried for outputs larger than the caches: 5-10% slower.)
void copy_rows(const std::vector<ChunkHits>& chunks, const std::uint64_t* where, Index qb, Index qe,
               const Index* splits, Index* neighbors, float* distances) {
  constexpr std::uint64_t kOffsetMask = (std::uint64_t(1) << nsearch::kChunkShift) - 1;
  for (Index q = qb; q < qe; ++q) {
    if (q + kCopyPrefetch < qe) {
      // Rows are read out of the order they were written in: no hardware prefetcher follows,
      // and every row would wait for memory.
      const Index p = q + kCopyPrefetch;
      const ChunkHits& c = chunks[where[p] >> nsearch::kChunkShift];
      const Index from = static_cast<Index>(where[p] & kOffsetMask);
      const Index n = splits[p + 1] - splits[p];
      for (Index i = 0; i < n; i += 16) {
        __builtin_prefetch(c.ids.data() + from + i);
        if (distances) __builtin_prefetch(c.dist.data() + from + i);
      }
    }
    const Index to = splits[q], n = splits[q + 1] - to;
    if (n == 0) continue;
    const ChunkHits& c = chunks[where[q] >> nsearch::kChunkShift];
    const Index from = static_cast<Index>(where[q] & kOffsetMask);
    copy_row(c.ids.data() + from, distances ? c.dist.data() + from : nullptr, n, neighbors + to,
             distances ? distances + to : nullptr);
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
  scratch->where.resize(nq);
  std::uint64_t* where = scratch->where.data();

  const ChunkOptions co{options.sort_neighbors, options.return_distances};
  out.row_splits.resize(nq + 1);
  Index* splits = out.row_splits.data();
  splits[0] = 0;
  parallel_for(nc, 1, [&](Index cb, Index ce) {
    for (Index c = cb; c < ce; ++c)
      search_chunk(variant, job, reach, c * kChunkQueries, std::min(nq, (c + 1) * kChunkQueries),
                   co, splits + 1, where,
                   static_cast<std::uint64_t>(c) << nsearch::kChunkShift, chunks[c]);
  });
  inclusive_scan(splits + 1, nq);
  const Index total = splits[nq];
  // resize keeps the capacity and only zero-fills growth, so a reused NeighborList is cheap.
  out.neighbors_index.resize(total);
  out.distances.resize(options.return_distances ? total : 0);
  Index* nb = out.neighbors_index.data();
  float* dist = options.return_distances ? out.distances.data() : nullptr;
  parallel_for(nq, kCopyGrain, [&](Index b, Index e) { copy_rows(chunks, where, b, e, splits, nb, dist); });
}

}  // namespace lagrad
