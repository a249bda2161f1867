#pragma once
// Internal to core: the distance test of one query against 4 consecutive points (SoA), the
// innermost step of the neighbor search. One function serves the count and the fill pass, so
// both passes make bitwise the same decisions.
#include <algorithm>
#include <cmath>

#include "core/neighbor_search.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace lagrad {

// Metric distance as the search reports it: squared for L2.
template <Metric M>
inline float metric_distance(float dx, float dy, float dz) {
  if constexpr (M == Metric::L2) {
    return dx * dx + dy * dy + dz * dz;
  } else if constexpr (M == Metric::L1) {
    return std::fabs(dx) + std::fabs(dy) + std::fabs(dz);
  } else {
    return std::max(std::max(std::fabs(dx), std::fabs(dy)), std::fabs(dz));
  }
}

// The value metric_distance is compared to (inclusive): r^2 for L2, r otherwise.
template <Metric M>
inline float metric_threshold(float r) {
  return M == Metric::L2 ? r * r : r;
}

#if defined(__SSE2__)

struct Query4 {
  __m128 x, y, z, thr;
  Query4(float qx, float qy, float qz, float t)
      : x(_mm_set1_ps(qx)), y(_mm_set1_ps(qy)), z(_mm_set1_ps(qz)), thr(_mm_set1_ps(t)) {}
};

// Bit t set when point t is a neighbor; the 4 distances go to d (when not null).
template <Metric M, bool kIgnore>
inline unsigned hit_mask4(const float* px, const float* py, const float* pz, const Query4& q,
                          float* d) {
  const __m128 x = _mm_loadu_ps(px), y = _mm_loadu_ps(py), z = _mm_loadu_ps(pz);
  const __m128 dx = _mm_sub_ps(x, q.x), dy = _mm_sub_ps(y, q.y), dz = _mm_sub_ps(z, q.z);
  __m128 dist;
  if constexpr (M == Metric::L2) {
    dist = _mm_add_ps(_mm_add_ps(_mm_mul_ps(dx, dx), _mm_mul_ps(dy, dy)), _mm_mul_ps(dz, dz));
  } else {
    const __m128 sign = _mm_set1_ps(-0.0f);
    const __m128 ax = _mm_andnot_ps(sign, dx), ay = _mm_andnot_ps(sign, dy), az = _mm_andnot_ps(sign, dz);
    if constexpr (M == Metric::L1)
      dist = _mm_add_ps(_mm_add_ps(ax, ay), az);
    else
      dist = _mm_max_ps(_mm_max_ps(ax, ay), az);
  }
  unsigned hit = static_cast<unsigned>(_mm_movemask_ps(_mm_cmple_ps(dist, q.thr)));
  if constexpr (kIgnore) {
    // A point at the query position has distance 0; only then (once per query, typically)
    // is the exact coordinate comparison worth doing.
    if (hit & static_cast<unsigned>(_mm_movemask_ps(_mm_cmpeq_ps(dist, _mm_setzero_ps())))) {
      const __m128 same = _mm_and_ps(_mm_and_ps(_mm_cmpeq_ps(x, q.x), _mm_cmpeq_ps(y, q.y)), _mm_cmpeq_ps(z, q.z));
      hit &= ~static_cast<unsigned>(_mm_movemask_ps(same));
    }
  }
  if (d) _mm_storeu_ps(d, dist);
  return hit;
}

#else

struct Query4 {
  float x, y, z, thr;
  Query4(float qx, float qy, float qz, float t) : x(qx), y(qy), z(qz), thr(t) {}
};

template <Metric M, bool kIgnore>
inline unsigned hit_mask4(const float* px, const float* py, const float* pz, const Query4& q,
                          float* d) {
  unsigned mask = 0;
  for (int t = 0; t < 4; ++t) {
    const float dist = metric_distance<M>(px[t] - q.x, py[t] - q.y, pz[t] - q.z);
    bool hit = dist <= q.thr;
    if constexpr (kIgnore) hit = hit && !(px[t] == q.x && py[t] == q.y && pz[t] == q.z);
    if (d) d[t] = dist;
    mask |= unsigned(hit) << t;
  }
  return mask;
}

#endif

}  // namespace lagrad
