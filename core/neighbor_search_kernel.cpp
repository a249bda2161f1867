#include "core/neighbor_search_kernel.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "core/hit_test4.h"
#include "core/parallel.h"

namespace lagrad {

namespace {

// Relative slack on the radius for everything that only narrows the candidate set (row reach,
// row pruning, x-window): the float distance test may accept a point whose exact distance is a
// few ulps above the radius, and such a point must still be a candidate.
constexpr double kSlack = 1e-5;
// Most rows visited on each side of the query's row (radius <= cell size needs 1).
constexpr int kMaxReach = 2;
constexpr int kMaxRows = (2 * kMaxReach + 1) * (2 * kMaxReach + 1);
constexpr Index kGrain = 256;
// Rows up to this length are sorted by rank counting (n^2 vectorized compares, no branches).
constexpr Index kRankSortMax = 128;
constexpr unsigned char kPopCount4[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};

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

// Fill-pass scratch of one chunk: the hits of one query before sorting.
struct HitBuffer {
  std::vector<std::int32_t> keys, ranks;  // point index (as int32 for the rank sort)
  std::vector<float> dist;
  std::vector<std::uint64_t> packed;  // long rows: (index << 32 | distance bits), std::sort
  void reserve(Index n) {
    if (static_cast<Index>(keys.size()) >= n + 16) return;
    const size_t size = static_cast<size_t>(2 * n + 16);
    keys.resize(size), ranks.resize(size), dist.resize(size);
  }
};

// r[i] = number of keys below k[i], for distinct keys k[0, n); k is padded to a multiple of 16
// with INT32_MAX (room for it is reserved). O(n^2) compares, but branch-free and 4 lanes wide:
// for the ~50 hits of a typical row it beats comparison sorts, whose branches mispredict.
void compute_ranks(std::int32_t* k, Index n, std::int32_t* r) {
  const Index padded = (n + 15) & ~Index(15);
  for (Index i = n; i < padded; ++i) k[i] = INT32_MAX;
#if defined(__SSE2__)
  for (Index ib = 0; ib < padded; ib += 16) {
    const __m128i k0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k + ib));
    const __m128i k1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k + ib + 4));
    const __m128i k2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k + ib + 8));
    const __m128i k3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k + ib + 12));
    __m128i r0 = _mm_setzero_si128(), r1 = r0, r2 = r0, r3 = r0;
    for (Index j = 0; j < n; ++j) {
      const __m128i v = _mm_set1_epi32(k[j]);  // compare masks are -1: subtracting counts
      r0 = _mm_sub_epi32(r0, _mm_cmpgt_epi32(k0, v));
      r1 = _mm_sub_epi32(r1, _mm_cmpgt_epi32(k1, v));
      r2 = _mm_sub_epi32(r2, _mm_cmpgt_epi32(k2, v));
      r3 = _mm_sub_epi32(r3, _mm_cmpgt_epi32(k3, v));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(r + ib), r0);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(r + ib + 4), r1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(r + ib + 8), r2);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(r + ib + 12), r3);
  }
#else
  for (Index i = 0; i < padded; ++i) r[i] = 0;
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < padded; ++i) r[i] += k[i] > k[j];
#endif
}

// Writes the n hits to neighbors/distances [0, n) in ascending point index.
void write_sorted(HitBuffer& b, Index n, bool int32_ids, Index* neighbors, float* distances) {
  std::int32_t* k = b.keys.data();
  if (n <= kRankSortMax && int32_ids) {
    // Indices in a row are distinct, so the ranks are a permutation.
    std::int32_t* r = b.ranks.data();
    compute_ranks(k, n, r);
    for (Index i = 0; i < n; ++i) neighbors[r[i]] = k[i];
    if (distances)
      for (Index i = 0; i < n; ++i) distances[r[i]] = b.dist[i];
    return;
  }
  b.packed.resize(n);
  for (Index i = 0; i < n; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, &b.dist[i], sizeof(bits));
    b.packed[i] = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(k[i])) << 32) | bits;
  }
  std::sort(b.packed.begin(), b.packed.end());
  for (Index i = 0; i < n; ++i) neighbors[i] = static_cast<Index>(b.packed[i] >> 32);
  if (distances) {
    for (Index i = 0; i < n; ++i) {
      const std::uint32_t bits = static_cast<std::uint32_t>(b.packed[i]);
      std::memcpy(distances + i, &bits, sizeof(float));
    }
  }
}

// Pass 1 (kFill false): row_splits[q + 1] = number of neighbors of query q.
// Pass 2 (kFill true): row q of the CSR at row_splits[q], sorted by point index.
// Queries are visited in sorted order [qb, qe) group by group; each group (a row of queries)
// sees the same 3x3 rows of points, whose x-windows slide forward as the query x grows.
template <Metric M, bool kIgnore, bool kFill>
void search_range(const RadiusSearchJob& job, int reach, Index qb, Index qe, Index* row_splits,
                  Index* neighbors, float* distances) {
  const SpatialHashIndex::Impl& ix = *job.index;
  const SortedPoints& pts = ix.sorted;
  const SortedPoints& qs = *job.queries;
  const float* px = pts.x.data();
  const float* py = pts.y.data();
  const float* pz = pts.z.data();
  const std::uint32_t* pid = pts.ids.data();
  const bool int32_ids = pts.size() <= INT32_MAX;
  const double w = ix.row_width;
  const double reach_radius = static_cast<double>(job.max_radius) * (1 + kSlack);

  NeighborRow rows[kMaxRows];
  double gap_y[2 * kMaxReach + 1], gap_z[2 * kMaxReach + 1];
  HitBuffer buf;
  alignas(16) float d4[4];

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

    for (; pos < gend; ++pos) {
      const float qx = qs.x[pos], qy = qs.y[pos], qz = qs.z[pos];
      const Index q = qs.ids[pos];
      const float r = job.radii ? job.radii[q] : job.radius;
      const Query4 q4(qx, qy, qz, metric_threshold<M>(r));
      const double rr = static_cast<double>(r) * (1 + kSlack);
      const float xlo = round_down(qx - reach_radius);
      const float xhi = round_up(qx + reach_radius);
      for (int d = 1; d <= reach; ++d) {
        // Distance from the query to the strips of rows cy +- d, less a rounding slack.
        gap_y[reach + d] = prune ? std::max((grp.cy + d) * w - qy - slack_y, 0.0) : 0.0;
        gap_y[reach - d] = prune ? std::max(qy - (grp.cy - d + 1) * w - slack_y, 0.0) : 0.0;
        gap_z[reach + d] = prune ? std::max((grp.cz + d) * w - qz - slack_z, 0.0) : 0.0;
        gap_z[reach - d] = prune ? std::max(qz - (grp.cz - d + 1) * w - slack_z, 0.0) : 0.0;
      }
      gap_y[reach] = gap_z[reach] = 0.0;

      Index count = 0;
      Index start = 0, expected = 0;
      if constexpr (kFill) {
        start = row_splits[q];
        expected = row_splits[q + 1] - start;
        buf.reserve(expected);
      }
      for (int k = 0; k < num_rows; ++k) {
        NeighborRow& nr = rows[k];
        Index lo = nr.lo, hi = nr.hi;
        while (lo < nr.end && px[lo] < xlo) ++lo;
        if (hi < lo) hi = lo;
        while (hi < nr.end && px[hi] <= xhi) ++hi;
        nr.lo = lo, nr.hi = hi;
        if (lo == hi || row_out_of_reach<M>(gap_y[nr.iy], gap_z[nr.iz], rr)) continue;
        // Blocks of 4; the last may read up to 3 points past hi (arrays are padded), masked off.
        auto block = [&](Index j, unsigned valid) {
          const unsigned m = hit_mask4<M, kIgnore>(px + j, py + j, pz + j, q4, kFill ? d4 : nullptr) & valid;
          if constexpr (!kFill) {
            count += kPopCount4[m];
          } else {
            if (count < expected) {
              // Branch-free compaction: write all 4 lanes, advance past the hits only.
              std::int32_t* kk = buf.keys.data();
              float* dd = buf.dist.data();
              for (int t = 0; t < 4; ++t) {
                kk[count] = static_cast<std::int32_t>(pid[j + t]);
                dd[count] = d4[t];
                count += (m >> t) & 1u;
              }
            } else {
              count += kPopCount4[m];
            }
          }
        };
        Index j = lo;
        for (; j + 4 <= hi; j += 4) block(j, 0xFu);
        if (j < hi) block(j, (1u << (hi - j)) - 1);
      }
      if constexpr (!kFill) {
        row_splits[q + 1] = count;
      } else {
        if (count != expected)
          throw std::logic_error("radius search: the count and fill passes disagree");
        write_sorted(buf, count, int32_ids, neighbors + start, distances ? distances + start : nullptr);
      }
    }
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

template <Metric M, bool kIgnore>
void run(const RadiusSearchJob& job, bool with_distances, NeighborList& out) {
  const int reach = reach_of(job);
  const Index nq = job.queries->size();
  out.row_splits.resize(nq + 1);
  Index* splits = out.row_splits.data();
  splits[0] = 0;
  parallel_for(nq, kGrain, [&](Index b, Index e) {
    search_range<M, kIgnore, false>(job, reach, b, e, splits, nullptr, nullptr);
  });
  inclusive_scan(splits + 1, nq);
  const Index total = splits[nq];
  // resize keeps the capacity and only zero-fills growth, so a reused NeighborList is cheap.
  out.neighbors_index.resize(total);
  out.distances.resize(with_distances ? total : 0);
  Index* nb = out.neighbors_index.data();
  float* dist = with_distances ? out.distances.data() : nullptr;
  parallel_for(nq, kGrain, [&](Index b, Index e) {
    search_range<M, kIgnore, true>(job, reach, b, e, splits, nb, dist);
  });
}

}  // namespace

void run_radius_search(const RadiusSearchJob& job, const RadiusSearchOptions& options,
                       NeighborList& out) {
  using Fn = void (*)(const RadiusSearchJob&, bool, NeighborList&);
  static constexpr Fn table[3][2] = {{run<Metric::L1, false>, run<Metric::L1, true>},
                                     {run<Metric::L2, false>, run<Metric::L2, true>},
                                     {run<Metric::Linf, false>, run<Metric::Linf, true>}};
  const int m = options.metric == Metric::L1 ? 0 : options.metric == Metric::L2 ? 1 : 2;
  table[m][options.ignore_query_points ? 1 : 0](job, options.return_distances, out);
}

}  // namespace lagrad
