#include "core/neighbor_search_kernel.h"

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "core/simd8.h"

// x86-64 builds without -mavx2 get an AVX2 clone of the kernel picked at load time
// (LAGRAD_NO_TARGET_CLONES turns this off, e.g. to test the portable path); -mavx2 builds
// use AVX2 throughout.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__AVX2__) && !defined(LAGRAD_NO_TARGET_CLONES)
#define LAGRAD_AVX2_CLONE 1
#endif
#if defined(LAGRAD_AVX2_CLONE) || defined(__AVX2__)
#include <immintrin.h>
#endif
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
// Consecutive queries of a group that share one x-window per row.
constexpr Index kTile = 4;
// Rows up to this length are sorted by rank counting (n^2 vectorized compares, no branches).
constexpr Index kRankSortMax = 128;

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
  simd::i8 tail;  // lanes of the last, partial block of the window
  Index end, lo, hi;
  int iy, iz;  // row offset + reach: index into the per-query gap arrays
};

// Hot functions are forced inline so that they are compiled for the ISA of the (cloned)
// caller, see search_chunk.
#define LAGRAD_HOT inline __attribute__((always_inline))

// Fill-pass scratch of one chunk: the hits of one query before sorting.
struct HitBuffer {
  std::vector<std::int32_t> keys, ranks;  // point index (as int32 for the rank sort)
  std::vector<std::int16_t> keys16, ranks16;
  std::vector<float> dist;
  std::vector<Index> sorted_ids;
  std::vector<float> sorted_dist;
  std::vector<std::uint64_t> packed;  // long rows: (index << 32 | distance bits), std::sort
  void reserve(Index n) {
    if (static_cast<Index>(keys.size()) >= n + 64) return;
    const size_t size = static_cast<size_t>(2 * n + 64);
    keys.resize(size), ranks.resize(size), keys16.resize(size), ranks16.resize(size);
    dist.resize(size), sorted_ids.resize(size), sorted_dist.resize(size);
  }
};

// r[i] for keys k[ib, ib + NV * lanes): the number of keys among k[0, n) below k[i].
template <int NV, class V, class T>
LAGRAD_HOT void rank_group(const T* k, Index n, Index ib, T* r) {
  constexpr int kL = sizeof(V) / sizeof(T);
  V key[NV], rank[NV];
  for (int v = 0; v < NV; ++v) {
    std::memcpy(&key[v], k + ib + kL * v, sizeof(V));
    rank[v] = V{};
  }
  for (Index j = 0; j < n; ++j) {
    const V x = V{} + k[j];                              // broadcast
    for (int v = 0; v < NV; ++v) rank[v] -= key[v] > x;  // compares give -1 where true
  }
  for (int v = 0; v < NV; ++v) std::memcpy(r + ib + kL * v, &rank[v], sizeof(V));
}

// r[i] = number of keys below k[i], for distinct keys k[0, n) padded with `pad` (greater than
// all keys) to a multiple of the lane count. O(n^2) compares, but branch-free and 8 or 16
// lanes wide: for the ~50 hits of a typical row this beats comparison sorts, whose branches
// mispredict.
template <class V, class T>
LAGRAD_HOT void compute_ranks(T* k, Index n, T* r, T pad) {
  constexpr Index kL = sizeof(V) / sizeof(T);
  const Index padded = (n + kL - 1) / kL * kL;
  for (Index i = n; i < padded; ++i) k[i] = pad;
  Index ib = 0;
  for (; ib + 4 * kL <= padded; ib += 4 * kL) rank_group<4, V>(k, n, ib, r);
  switch ((padded - ib) / kL) {
    case 3: rank_group<3, V>(k, n, ib, r); break;
    case 2: rank_group<2, V>(k, n, ib, r); break;
    case 1: rank_group<1, V>(k, n, ib, r); break;
    default: break;
  }
}

// Writes the n hits to neighbors/distances [0, n) in ascending point index.
LAGRAD_HOT void write_sorted(HitBuffer& b, Index n, bool int32_ids, Index* neighbors, float* distances) {
  std::int32_t* k = b.keys.data();
  if (n <= kRankSortMax && int32_ids) {
    // Indices in a row are distinct, so the ranks are a permutation. When they span less than
    // 2^16 (points in spatial order), 16-bit keys halve the compares.
    for (Index i = n; i < n + simd::kLanes; ++i) k[i] = k[0];  // neutral padding
    simd::i8 vlo, vhi;
    simd::load(vlo, k);
    vhi = vlo;
    for (Index i = simd::kLanes; i < n; i += simd::kLanes) {
      simd::i8 v;
      simd::load(v, k + i);
      vlo = v < vlo ? v : vlo;
      vhi = v > vhi ? v : vhi;
    }
    std::int32_t lo = vlo[0], hi = vhi[0];
    for (int t = 1; t < simd::kLanes; ++t) lo = std::min(lo, vlo[t]), hi = std::max(hi, vhi[t]);
    Index* ids = b.sorted_ids.data();
    float* dist = b.sorted_dist.data();
    if (static_cast<std::int64_t>(hi) - lo < 65535) {
      std::int16_t* k16 = b.keys16.data();
      std::int16_t* r16 = b.ranks16.data();
      for (Index i = 0; i < n; ++i) k16[i] = static_cast<std::int16_t>(k[i] - lo - 32768);
      compute_ranks<simd::s16>(k16, n, r16, std::int16_t(INT16_MAX));
      for (Index i = 0; i < n; ++i) ids[r16[i]] = k[i], dist[r16[i]] = b.dist[i];
    } else {
      std::int32_t* r = b.ranks.data();
      compute_ranks<simd::i8>(k, n, r, std::int32_t(INT32_MAX));
      for (Index i = 0; i < n; ++i) ids[r[i]] = k[i], dist[r[i]] = b.dist[i];
    }
    std::memcpy(neighbors, ids, sizeof(Index) * n);
    if (distances) std::memcpy(distances, dist, sizeof(float) * n);
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

// Moves the ids and distances of the hit lanes to the front of keys/dist (which have room
// for 8), in lane order; returns the number of hits.
LAGRAD_HOT Index compact_generic(const simd::i8& hit, const simd::f8& dist, const std::uint32_t* ids,
                                 std::int32_t* keys, float* d) {
  Index n = 0;
  for (int t = 0; t < simd::kLanes; ++t) {  // branch-free: write every lane, keep the hits
    keys[n] = static_cast<std::int32_t>(ids[t]);
    d[n] = dist[t];
    n -= hit[t];
  }
  return n;
}

#if defined(LAGRAD_AVX2_CLONE) || defined(__AVX2__)
// For each 8-bit hit mask, the lanes of its set bits in order, 3 bits per lane.
constexpr std::array<std::uint32_t, 256> make_compact_lut() {
  std::array<std::uint32_t, 256> lut{};
  for (unsigned m = 0; m < 256; ++m) {
    unsigned k = 0;
    for (unsigned t = 0; t < 8; ++t)
      if (m & (1u << t)) lut[m] |= t << (3 * k++);
  }
  return lut;
}
constexpr std::array<std::uint32_t, 256> kCompactLut = make_compact_lut();

// The same with one AVX2 permute per array. Only inlined into the AVX2 clone of
// search_chunk; the baseline clone reaches it only behind a CPU check.
__attribute__((target("avx2,popcnt"))) inline Index compact_avx2(const simd::i8& hit, const simd::f8& dist,
                                                                 const std::uint32_t* ids,
                                                                 std::int32_t* keys, float* d) {
  const unsigned m = static_cast<unsigned>(_mm256_movemask_ps(reinterpret_cast<__m256>(hit)));
  const __m256i lanes = _mm256_and_si256(
      _mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(kCompactLut[m])),
                        _mm256_setr_epi32(0, 3, 6, 9, 12, 15, 18, 21)),
      _mm256_set1_epi32(7));
  const __m256i id = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ids));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(keys), _mm256_permutevar8x32_epi32(id, lanes));
  _mm256_storeu_ps(d, _mm256_permutevar8x32_ps(reinterpret_cast<__m256>(dist), lanes));
  return __builtin_popcount(m);
}

#if defined(__AVX2__)
constexpr bool kHasAvx2 = true;
#else
// Evaluated during static initialization, hence the explicit cpu_init.
const bool kHasAvx2 = (__builtin_cpu_init(), __builtin_cpu_supports("avx2"));
#endif

LAGRAD_HOT Index compact(const simd::i8& hit, const simd::f8& dist, const std::uint32_t* ids,
                         std::int32_t* keys, float* d) {
  if (kHasAvx2) return compact_avx2(hit, dist, ids, keys, d);
  return compact_generic(hit, dist, ids, keys, d);
}
#else
LAGRAD_HOT Index compact(const simd::i8& hit, const simd::f8& dist, const std::uint32_t* ids,
                         std::int32_t* keys, float* d) {
  return compact_generic(hit, dist, ids, keys, d);
}
#endif

struct Query8 {
  simd::f8 x, y, z, thr;
};

// The 8 points at p: lanes -1 where the point is a neighbor; their metric distances in dist.
// The count and the fill pass both call this, so they make bitwise the same decisions.
template <Metric M, bool kIgnore>
LAGRAD_HOT void hit_lanes(const float* px, const float* py, const float* pz, const Query8& q,
                          simd::i8& hit, simd::f8& dist) {
  simd::f8 x, y, z;
  simd::load(x, px), simd::load(y, py), simd::load(z, pz);
  const simd::f8 dx = x - q.x, dy = y - q.y, dz = z - q.z;
  if constexpr (M == Metric::L2) {
    dist = dx * dx + dy * dy + dz * dz;
  } else {
    const simd::i8 no_sign = (simd::i8{} + 0x7fffffff);  // |v| clears the sign bit
    const simd::f8 ax = (simd::f8)((simd::i8)dx & no_sign), ay = (simd::f8)((simd::i8)dy & no_sign),
                   az = (simd::f8)((simd::i8)dz & no_sign);
    if constexpr (M == Metric::L1) {
      dist = ax + ay + az;
    } else {
      const simd::f8 axy = ax > ay ? ax : ay;
      dist = axy > az ? axy : az;
    }
  }
  hit = dist <= q.thr;
  if constexpr (kIgnore) hit &= ~((x == q.x) & (y == q.y) & (z == q.z));
}

// Pass 1 (kFill false): row_splits[q + 1] = number of neighbors of query q.
// Pass 2 (kFill true): row q of the CSR at row_splits[q], sorted by point index.
// Queries are visited in sorted order [qb, qe) group by group; each group (a row of queries)
// sees the same 3x3 rows of points, whose x-windows slide forward as the query x grows.
template <Metric M, bool kIgnore, bool kFill>
LAGRAD_HOT void search_range(const RadiusSearchJob& job, int reach, Index qb, Index qe, Index* row_splits,
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
      for (int k = 0; k < num_rows; ++k) {
        NeighborRow& nr = rows[k];
        while (nr.lo < nr.end && px[nr.lo] < xlo) ++nr.lo;
        nr.hi = std::max(nr.hi, nr.lo);
        while (nr.hi < nr.end && px[nr.hi] <= xhi) ++nr.hi;
        nr.tail = simd::kIota < static_cast<std::int32_t>((nr.hi - nr.lo) % simd::kLanes);
      }
      for (Index s = pos; s < tile_end; ++s) {
        const float qx = qs.x[s], qy = qs.y[s], qz = qs.z[s];
        const Index q = qs.ids[s];
        const float r = job.radii ? job.radii[q] : job.radius;
        const Query8 q8{simd::f8{} + qx, simd::f8{} + qy, simd::f8{} + qz, simd::f8{} + metric_threshold<M>(r)};
        const double rr = static_cast<double>(r) * (1 + kSlack);
        for (int d = 1; d <= reach; ++d) {
          // Distance from the query to the strips of rows cy +- d, less a rounding slack.
          gap_y[reach + d] = prune ? std::max((grp.cy + d) * w - qy - slack_y, 0.0) : 0.0;
          gap_y[reach - d] = prune ? std::max(qy - (grp.cy - d + 1) * w - slack_y, 0.0) : 0.0;
          gap_z[reach + d] = prune ? std::max((grp.cz + d) * w - qz - slack_z, 0.0) : 0.0;
          gap_z[reach - d] = prune ? std::max(qz - (grp.cz - d + 1) * w - slack_z, 0.0) : 0.0;
        }
        gap_y[reach] = gap_z[reach] = 0.0;

        simd::i8 counts = {};
        Index count = 0;
        Index start = 0, expected = 0;
        if constexpr (kFill) {
          start = row_splits[q];
          expected = row_splits[q + 1] - start;
          buf.reserve(expected);
        }
        for (int k = 0; k < num_rows; ++k) {
          const NeighborRow& nr = rows[k];
          if (nr.lo == nr.hi || row_out_of_reach<M>(gap_y[nr.iy], gap_z[nr.iz], rr)) continue;
          // Blocks of 8: whole ones, then the rest, which may read up to 7 points past hi (the
          // arrays are padded) and masks them off.
          auto block = [&](Index j, const simd::i8& valid) __attribute__((always_inline)) {
            simd::f8 dist;
            simd::i8 hit;
            hit_lanes<M, kIgnore>(px + j, py + j, pz + j, q8, hit, dist);
            hit &= valid;
            if constexpr (!kFill) {
              counts -= hit;
            } else if (count < expected) {
              count += compact(hit, dist, pid + j, buf.keys.data() + count, buf.dist.data() + count);
            } else {
              count -= simd::sum(hit);
            }
          };
          Index j = nr.lo;
          for (; j + simd::kLanes <= nr.hi; j += simd::kLanes) block(j, simd::i8{} - 1);
          if (j < nr.hi) block(j, nr.tail);
        }
        if constexpr (!kFill) {
          row_splits[q + 1] = simd::sum(counts);
        } else {
          if (count != expected)
            throw std::logic_error("radius search: the count and fill passes disagree");
          write_sorted(buf, count, int32_ids, neighbors + start, distances ? distances + start : nullptr);
        }
      }
    }
  }
}

// One chunk of queries for one (metric, ignore, pass) variant. On x86-64 GCC/Clang this is
// compiled twice, for the baseline (SSE2) and for AVX2, and the loader picks the clone the CPU
// supports (no FMA in either, so both give bitwise the same results).
#if defined(LAGRAD_AVX2_CLONE)
__attribute__((target_clones("avx2", "default")))
#endif
void search_chunk(int variant, const RadiusSearchJob& job, int reach, Index qb, Index qe,
                  Index* row_splits, Index* neighbors, float* distances) {
  switch (variant) {
#define LAGRAD_CASE(i, m, ig, fill) \
  case i: return search_range<m, ig, fill>(job, reach, qb, qe, row_splits, neighbors, distances);
    LAGRAD_CASE(0, Metric::L1, false, false)
    LAGRAD_CASE(1, Metric::L1, false, true)
    LAGRAD_CASE(2, Metric::L1, true, false)
    LAGRAD_CASE(3, Metric::L1, true, true)
    LAGRAD_CASE(4, Metric::L2, false, false)
    LAGRAD_CASE(5, Metric::L2, false, true)
    LAGRAD_CASE(6, Metric::L2, true, false)
    LAGRAD_CASE(7, Metric::L2, true, true)
    LAGRAD_CASE(8, Metric::Linf, false, false)
    LAGRAD_CASE(9, Metric::Linf, false, true)
    LAGRAD_CASE(10, Metric::Linf, true, false)
    LAGRAD_CASE(11, Metric::Linf, true, true)
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

void run(const RadiusSearchJob& job, const RadiusSearchOptions& options, NeighborList& out) {
  const int metric = options.metric == Metric::L1 ? 0 : options.metric == Metric::L2 ? 1 : 2;
  const int variant = 4 * metric + 2 * (options.ignore_query_points ? 1 : 0);
  const int reach = reach_of(job);
  const Index nq = job.queries->size();
  out.row_splits.resize(nq + 1);
  Index* splits = out.row_splits.data();
  splits[0] = 0;
  parallel_for(nq, kGrain, [&](Index b, Index e) {
    search_chunk(variant, job, reach, b, e, splits, nullptr, nullptr);
  });
  inclusive_scan(splits + 1, nq);
  const Index total = splits[nq];
  // resize keeps the capacity and only zero-fills growth, so a reused NeighborList is cheap.
  out.neighbors_index.resize(total);
  out.distances.resize(options.return_distances ? total : 0);
  Index* nb = out.neighbors_index.data();
  float* dist = options.return_distances ? out.distances.data() : nullptr;
  parallel_for(nq, kGrain, [&](Index b, Index e) {
    search_chunk(variant + 1, job, reach, b, e, splits, nb, dist);
  });
}

}  // namespace

void run_radius_search(const RadiusSearchJob& job, const RadiusSearchOptions& options,
                       NeighborList& out) {
  run(job, options, out);
}

}  // namespace lagrad
