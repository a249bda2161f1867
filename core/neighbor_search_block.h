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

#include "core/neighbor_search.h"
#include "core/simd8.h"

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
// it cannot fuse the operation that produced v into a later add.
template <class V>
LAGRAD_HOT void no_contract(V& v) {
#if defined(__x86_64__) || defined(__i386__)
  asm("" : "+v"(v));
#elif defined(__aarch64__)
  asm("" : "+w"(v));
#else
  (void)v;
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

template <Metric M, bool kIgnore>
struct BlockTester {
  static constexpr int kLanes = simd::kLanes;
  simd::f8 qx, qy, qz, thr;

  BlockTester(float x, float y, float z, float threshold)
      : qx(simd::f8{} + x), qy(simd::f8{} + y), qz(simd::f8{} + z), thr(simd::f8{} + threshold) {}

  // Tests points [j, j + n) (0 < n <= 8; may read up to 8 points from j), writes the hits at
  // ids_out / d (room for 8 each; d always written) and returns their number.
  LAGRAD_HOT Index test(const BlockSource& s, Index j, Index n, std::uint32_t* ids_out, float* d) const {
    simd::f8 x, y, z;
    simd::load(x, s.x + j), simd::load(y, s.y + j), simd::load(z, s.z + j);
    simd::f8 dx = x - qx, dy = y - qy, dz = z - qz;
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
    simd::i8 hit = dist <= thr;
    if constexpr (kIgnore) hit &= ~((x == qx) & (y == qy) & (z == qz));
    if (n < kLanes) hit &= simd::kIota < static_cast<std::int32_t>(n);
    return compact(hit, dist, s.ids + j, ids_out, d);
  }
};

// ---- 16 lanes, AVX-512 ----
#if defined(__AVX512F__)
#define LAGRAD_NSEARCH_AVX512 1

template <Metric M, bool kIgnore>
struct BlockTester16 {
  static constexpr int kLanes = 16;
  __m512 qx, qy, qz, thr;

  BlockTester16(float x, float y, float z, float threshold)
      : qx(_mm512_set1_ps(x)), qy(_mm512_set1_ps(y)), qz(_mm512_set1_ps(z)), thr(_mm512_set1_ps(threshold)) {}

  // As BlockTester::test with 16 lanes; reads only points [j, j + n).
  LAGRAD_HOT Index test(const BlockSource& s, Index j, Index n, std::uint32_t* ids_out, float* d) const {
    const __mmask16 valid = n >= kLanes ? __mmask16(0xffff) : __mmask16((1u << n) - 1);
    const __m512 x = _mm512_maskz_loadu_ps(valid, s.x + j);
    const __m512 y = _mm512_maskz_loadu_ps(valid, s.y + j);
    const __m512 z = _mm512_maskz_loadu_ps(valid, s.z + j);
    __m512 dx = _mm512_sub_ps(x, qx), dy = _mm512_sub_ps(y, qy), dz = _mm512_sub_ps(z, qz);
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
    __mmask16 hit = _mm512_mask_cmp_ps_mask(valid, dist, thr, _CMP_LE_OQ);
    if constexpr (kIgnore) {
      __mmask16 same = _mm512_mask_cmp_ps_mask(hit, x, qx, _CMP_EQ_OQ);
      same = _mm512_mask_cmp_ps_mask(same, y, qy, _CMP_EQ_OQ);
      same = _mm512_mask_cmp_ps_mask(same, z, qz, _CMP_EQ_OQ);
      hit = static_cast<__mmask16>(hit & ~same);
    }
    const __m512i id = _mm512_maskz_loadu_epi32(valid, s.ids + j);
    _mm512_storeu_si512(ids_out, _mm512_maskz_compress_epi32(hit, id));
    _mm512_storeu_ps(d, _mm512_maskz_compress_ps(hit, dist));
    return __builtin_popcount(hit);
  }
};
#endif

}  // namespace lagrad::nsearch
