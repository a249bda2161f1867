#pragma once
// Internal to the neighbor search kernel: sorting one row of hits (point id, distance) by
// point id, for RadiusSearchOptions::sort_neighbors.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "neighbor_search_block.h"
#include "simd8.h"

namespace lagrad::nsearch {

// Rows up to this length are sorted by rank counting (n^2 vectorized compares, no branches).
constexpr Index kRankSortMax = 128;

// Scratch of one chunk for sorting rows; grows to the longest row, then is reused.
struct RowSortBuffer {
  std::vector<std::int32_t> keys, ranks;
  std::vector<std::int16_t> keys16, ranks16;
  std::vector<std::uint32_t> ids;
  std::vector<float> dist;
  std::vector<std::uint64_t> packed;  // long rows: (id << 32 | distance bits), std::sort

  void reserve(Index n) {
    if (static_cast<Index>(keys.size()) >= n + 64) return;
    const size_t size = static_cast<size_t>(2 * n + 64);
    keys.resize(size), ranks.resize(size), keys16.resize(size), ranks16.resize(size);
    ids.resize(size), dist.resize(size);
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

// Sorts the n hits ids[0, n) / dist[0, n) in place by ascending id (ids are distinct); dist
// may be null.
// int32_ids: every id fits in int32 (the index holds at most 2^31 - 1 points).
LAGRAD_HOT void sort_row(RowSortBuffer& b, Index n, bool int32_ids, std::uint32_t* ids, float* dist) {
  if (n <= 1) return;
  b.reserve(n);
  if (n <= kRankSortMax && int32_ids) {
    std::int32_t* k = b.keys.data();
    for (Index i = 0; i < n; ++i) k[i] = static_cast<std::int32_t>(ids[i]);
    for (Index i = n; i < n + simd::kLanes; ++i) k[i] = k[0];  // neutral padding for min/max
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
    std::uint32_t* sorted_ids = b.ids.data();
    float* sorted_dist = b.dist.data();
    // The ranks are a permutation. When the ids in the row span less than 2^16 (points in
    // spatial order), 16-bit keys halve the compares.
    if (static_cast<std::int64_t>(hi) - lo < 65535) {
      std::int16_t* k16 = b.keys16.data();
      std::int16_t* r16 = b.ranks16.data();
      for (Index i = 0; i < n; ++i) k16[i] = static_cast<std::int16_t>(k[i] - lo - 32768);
      compute_ranks<simd::s16>(k16, n, r16, std::int16_t(INT16_MAX));
      for (Index i = 0; i < n; ++i) sorted_ids[r16[i]] = ids[i];
      if (dist)
        for (Index i = 0; i < n; ++i) sorted_dist[r16[i]] = dist[i];
    } else {
      std::int32_t* r = b.ranks.data();
      compute_ranks<simd::i8>(k, n, r, std::int32_t(INT32_MAX));
      for (Index i = 0; i < n; ++i) sorted_ids[r[i]] = ids[i];
      if (dist)
        for (Index i = 0; i < n; ++i) sorted_dist[r[i]] = dist[i];
    }
    std::memcpy(ids, sorted_ids, sizeof(std::uint32_t) * n);
    if (dist) std::memcpy(dist, sorted_dist, sizeof(float) * n);
    return;
  }
  b.packed.resize(n);
  for (Index i = 0; i < n; ++i) {
    std::uint32_t bits = 0;
    if (dist) std::memcpy(&bits, &dist[i], sizeof(bits));
    b.packed[i] = (static_cast<std::uint64_t>(ids[i]) << 32) | bits;
  }
  std::sort(b.packed.begin(), b.packed.end());
  for (Index i = 0; i < n; ++i) {
    ids[i] = static_cast<std::uint32_t>(b.packed[i] >> 32);
    const std::uint32_t bits = static_cast<std::uint32_t>(b.packed[i]);
    if (dist) std::memcpy(dist + i, &bits, sizeof(float));
  }
}

}  // namespace lagrad::nsearch
