#pragma once
// Internal to the neighbor search kernel: the distance test of one query against a block of
// consecutive index points, appending the hits (point id, metric distance) to an output buffer.
//
// Two implementations with the same results, bit for bit:
//  - BlockTester (8 lanes, GCC/Clang vector extension): compiled for SSE2, or AVX2 in the AVX2
//    clone / -mavx2 builds, where the compaction is one permute per array;
//  - BlockTester16 (16 lanes, AVX-512 intrinsics), in -mavx512f builds (LAGRAD_NATIVE_ARCH on
//    an AVX-512 machine): masked loads for the tail, register-form compress for the compaction
//    (the memory-destination form is microcoded and slow on AMD Zen 4).
// Every product feeding a sum goes through no_contract, so that no build fuses a multiply-add
// (-march=native enables FMA): distances are the same rounded values on every path.
#include <array>
#include <cstdint>
#include <cstring>

#include "neighbor_search.h"
#include "simd8.h"

// x86-64 builds without -mavx2 get an AVX2 clone of the kernel picked at load time
// (LAGRAD_NO_TARGET_CLONES turns this off, e.g. to test the portable path); -mavx2 builds
// use AVX2 throughout.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__AVX2__) && !defined(LAGRAD_NO_TARGET_CLONES)
#define LAGRAD_AVX2_CLONE 1
#endif
#if defined(LAGRAD_AVX2_CLONE) || defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

// Hot functions are forced inline so that they are compiled for the ISA of the (cloned)
// caller.
#define LAGRAD_HOT inline __attribute__((always_inline))

namespace lagrad::nsearch {

// An empty asm that claims to modify v: the compiler must materialize the rounded value, so
// it cannot fuse the operation that produced v into a later add. Only needed where the target
// has FMA (x86 without it, e.g. the baseline and AVX2 clones, never contracts); there the
// vector fits one register. Elsewhere the value goes through memory.
template <class V>
LAGRAD_HOT void no_contract(V& v) {
#if defined(__x86_64__) || defined(__i386__)
#if defined(__FMA__)
  asm("" : "+v"(v));
#else
  (void)v;
#endif
#else
  asm("" : "+m"(v));
#endif
}

// ---- 8 lanes, vector extension ----

// Moves the ids and distances of the hit lanes to the front of ids_out/d (room for 8), in lane
// order; returns the number of hits. Branch-free: every lane is written, the hits are kept.
LAGRAD_HOT Index compact_generic(const simd::i8& hit, const simd::f8& dist, const std::uint32_t* ids,
                                 std::uint32_t* ids_out, float* d) {
  Index n = 0;
  for (int t = 0; t < simd::kLanes; ++t) {
    ids_out[n] = ids[t];
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
inline constexpr std::array<std::uint32_t, 256> kCompactLut = make_compact_lut();

// The same with one AVX2 permute per array. Only inlined into AVX2 code; the baseline clone
// reaches it only behind a CPU check.
__attribute__((target("avx2,popcnt"))) inline Index compact_avx2(const simd::i8& hit, const simd::f8& dist,
                                                                 const std::uint32_t* ids,
                                                                 std::uint32_t* ids_out, float* d) {
  const unsigned m = static_cast<unsigned>(_mm256_movemask_ps(reinterpret_cast<__m256>(hit)));
  const __m256i lanes = _mm256_and_si256(
      _mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(kCompactLut[m])),
                        _mm256_setr_epi32(0, 3, 6, 9, 12, 15, 18, 21)),
      _mm256_set1_epi32(7));
  const __m256i id = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ids));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(ids_out), _mm256_permutevar8x32_epi32(id, lanes));
  _mm256_storeu_ps(d, _mm256_permutevar8x32_ps(reinterpret_cast<__m256>(dist), lanes));
  return __builtin_popcount(m);
}

#if defined(__AVX2__)
inline constexpr bool kHasAvx2 = true;
#else
// Evaluated during static initialization, hence the explicit cpu_init.
inline const bool kHasAvx2 = (__builtin_cpu_init(), __builtin_cpu_supports("avx2"));
#endif

LAGRAD_HOT Index compact(const simd::i8& hit, const simd::f8& dist, const std::uint32_t* ids,
                         std::uint32_t* ids_out, float* d) {
  if (kHasAvx2) return compact_avx2(hit, dist, ids, ids_out, d);
  return compact_generic(hit, dist, ids, ids_out, d);
}
#else
LAGRAD_HOT Index compact(const simd::i8& hit, const simd::f8& dist, const std::uint32_t* ids,
                         std::uint32_t* ids_out, float* d) {
  return compact_generic(hit, dist, ids, ids_out, d);
}
#endif

// The index points as SoA arrays (sorted order), padded past the end.
struct BlockSource {
  const float *x, *y, *z;
  const std::uint32_t* ids;
};

// Scalar window step: the first position in [pos, end) whose x is not below `bound` (below:
// x < bound, or x <= bound when kInclusive), for x sorted ascending.
template <bool kInclusive>
LAGRAD_HOT Index skip_below_scalar(const float* x, Index pos, Index end, float bound) {
  while (pos < end && (kInclusive ? x[pos] <= bound : x[pos] < bound)) ++pos;
  return pos;
}

// Tests blocks of consecutive index points against queries. A block is loaded once and tested
// against every query of a tile (kTile queries sharing an x-window), each test appending that
// query's hits.
template <Metric M, bool kIgnore>
struct BlockTester {
  static constexpr int kLanes = simd::kLanes;
  static constexpr int kTile = 2;  // 16 vector registers: 2 queries + a block fit
  struct Query {
    simd::f8 x, y, z, thr;
  };
  struct Block {
    simd::f8 x, y, z;
    simd::i8 valid;
    const std::uint32_t* ids;
  };

  static Query query(float x, float y, float z, float threshold) {
    return {simd::f8{} + x, simd::f8{} + y, simd::f8{} + z, simd::f8{} + threshold};
  }
  // Points [j, j + n), 0 < n <= 8 (reads 8 points from j: the arrays are padded).
  LAGRAD_HOT static void load(const BlockSource& s, Index j, Index n, Block& b) {
    simd::load(b.x, s.x + j), simd::load(b.y, s.y + j), simd::load(b.z, s.z + j);
    b.valid = simd::kIota < static_cast<std::int32_t>(n);
    b.ids = s.ids + j;
  }
  // Writes the hits of the block for q at ids_out / d (room for 8 each) and returns their number.
  LAGRAD_HOT static Index test(const Block& b, const Query& q, std::uint32_t* ids_out, float* d) {
    simd::f8 dx = b.x - q.x, dy = b.y - q.y, dz = b.z - q.z;
    simd::f8 dist;
    if constexpr (M == Metric::L2) {
      dx *= dx, dy *= dy, dz *= dz;
      no_contract(dx), no_contract(dy), no_contract(dz);
      dist = dx + dy + dz;
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
    simd::i8 hit = (dist <= q.thr) & b.valid;
    if constexpr (kIgnore) hit &= ~((b.x == q.x) & (b.y == q.y) & (b.z == q.z));
    return compact(hit, dist, b.ids, ids_out, d);
  }
  template <bool kInclusive>
  LAGRAD_HOT static Index skip_below(const float* x, Index pos, Index end, float bound) {
    return skip_below_scalar<kInclusive>(x, pos, end, bound);
  }
  // Moves n hits from (ids, d) + from down to + to (to < from); d may be null.
  LAGRAD_HOT static void move_hits(std::uint32_t* ids, float* d, Index to, Index from, Index n) {
    std::memmove(ids + to, ids + from, sizeof(std::uint32_t) * n);
    if (d) std::memmove(d + to, d + from, sizeof(float) * n);
  }
};

// ---- 16 lanes, AVX-512 ----
#if defined(__AVX512F__)
#define LAGRAD_NSEARCH_AVX512 1

template <Metric M, bool kIgnore>
struct BlockTester16 {
  static constexpr int kLanes = 16;
  static constexpr int kTile = 2;  // more queries widen the shared x-window too much
  struct Query {
    __m512 x, y, z, thr;
  };
  struct Block {
    __m512 x, y, z;
    __m512i ids;
    __mmask16 valid;
  };

  static Query query(float x, float y, float z, float threshold) {
    return {_mm512_set1_ps(x), _mm512_set1_ps(y), _mm512_set1_ps(z), _mm512_set1_ps(threshold)};
  }
  // Points [j, j + n), 0 < n <= 16; reads nothing past them.
  LAGRAD_HOT static void load(const BlockSource& s, Index j, Index n, Block& b) {
    b.valid = n >= kLanes ? __mmask16(0xffff) : __mmask16((1u << n) - 1);
    b.x = _mm512_maskz_loadu_ps(b.valid, s.x + j);
    b.y = _mm512_maskz_loadu_ps(b.valid, s.y + j);
    b.z = _mm512_maskz_loadu_ps(b.valid, s.z + j);
    b.ids = _mm512_maskz_loadu_epi32(b.valid, s.ids + j);
  }
  LAGRAD_HOT static Index test(const Block& b, const Query& q, std::uint32_t* ids_out, float* d) {
    __m512 dx = _mm512_sub_ps(b.x, q.x), dy = _mm512_sub_ps(b.y, q.y), dz = _mm512_sub_ps(b.z, q.z);
    __m512 dist;
    if constexpr (M == Metric::L2) {
      dx = _mm512_mul_ps(dx, dx), dy = _mm512_mul_ps(dy, dy), dz = _mm512_mul_ps(dz, dz);
      no_contract(dx), no_contract(dy), no_contract(dz);
      dist = _mm512_add_ps(_mm512_add_ps(dx, dy), dz);
    } else {
      const __m512 ax = _mm512_abs_ps(dx), ay = _mm512_abs_ps(dy), az = _mm512_abs_ps(dz);
      if constexpr (M == Metric::L1) {
        dist = _mm512_add_ps(_mm512_add_ps(ax, ay), az);
      } else {
        dist = _mm512_max_ps(_mm512_max_ps(ax, ay), az);
      }
    }
    __mmask16 hit = _mm512_mask_cmp_ps_mask(b.valid, dist, q.thr, _CMP_LE_OQ);
    if constexpr (kIgnore) {
      // Three independent compares rather than one masked chain: shorter latency.
      const __mmask16 sx = _mm512_cmp_ps_mask(b.x, q.x, _CMP_EQ_OQ);
      const __mmask16 sy = _mm512_cmp_ps_mask(b.y, q.y, _CMP_EQ_OQ);
      const __mmask16 sz = _mm512_cmp_ps_mask(b.z, q.z, _CMP_EQ_OQ);
      hit = _kandn_mask16(_kand_mask16(_kand_mask16(sx, sy), sz), hit);
    }
    _mm512_storeu_si512(ids_out, _mm512_maskz_compress_epi32(hit, b.ids));
    _mm512_storeu_ps(d, _mm512_maskz_compress_ps(hit, dist));
    return __builtin_popcount(hit);
  }
  // skip_below_scalar 16 points at a time: x is sorted, so the points below form a prefix.
  template <bool kInclusive>
  LAGRAD_HOT static Index skip_below(const float* x, Index pos, Index end, float bound) {
    const __m512 vb = _mm512_set1_ps(bound);
    while (pos < end) {
      const Index n = end - pos;
      const __mmask16 valid = n >= kLanes ? __mmask16(0xffff) : __mmask16((1u << n) - 1);
      const __m512 v = _mm512_maskz_loadu_ps(valid, x + pos);
      const __mmask16 below = _mm512_mask_cmp_ps_mask(valid, v, vb, kInclusive ? _CMP_LE_OQ : _CMP_LT_OQ);
      const int c = __builtin_popcount(below);
      pos += c;
      if (c < kLanes) break;
    }
    return pos;
  }
  // Moves n hits from (ids, d) + from down to + to (to < from; d may be null), 16 at a time:
  // each vector is loaded before it is stored, so a forward copy to a lower address is safe;
  // the last store may write up to 15 entries past to + n, which the caller leaves room for.
  LAGRAD_HOT static void move_hits(std::uint32_t* ids, float* d, Index to, Index from, Index n) {
    for (Index i = 0; i < n; i += kLanes) _mm512_storeu_si512(ids + to + i, _mm512_loadu_si512(ids + from + i));
    if (d)
      for (Index i = 0; i < n; i += kLanes) _mm512_storeu_ps(d + to + i, _mm512_loadu_ps(d + from + i));
  }
};
#endif

}  // namespace lagrad::nsearch
