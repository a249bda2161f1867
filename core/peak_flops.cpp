#include "peak_flops.h"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace lagrad {
namespace {

// Chains: FMA latency (4 cycles on Zen 4 and recent Intel cores, 5 on some) x two FMA pipes
// = 8 to 10 in flight; AVX-512 has 32 registers, so 16 leave ample margin; AVX2 and SSE have
// 16, so 12 accumulators + 2 constants fit without spilling.
#if defined(__AVX512F__)
using Vec = __m512;
constexpr int kLanes = 16, kChains = 16;
constexpr const char* kIsa = "avx512f";
inline Vec splat(float x) { return _mm512_set1_ps(x); }
inline Vec madd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline float hsum(Vec v) { return _mm512_reduce_add_ps(v); }
#elif defined(__AVX2__) && defined(__FMA__)
using Vec = __m256;
constexpr int kLanes = 8, kChains = 12;
constexpr const char* kIsa = "avx2+fma";
inline Vec splat(float x) { return _mm256_set1_ps(x); }
inline Vec madd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline float hsum(Vec v) {
  alignas(32) float t[8];
  _mm256_store_ps(t, v);
  float s = 0.0f;
  for (float x : t) s += x;
  return s;
}
#elif defined(__SSE2__)
using Vec = __m128;
constexpr int kLanes = 4, kChains = 12;
constexpr const char* kIsa = "sse2";
inline Vec splat(float x) { return _mm_set1_ps(x); }
inline Vec madd(Vec a, Vec b, Vec c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }  // no FMA: 2 instructions
inline float hsum(Vec v) {
  alignas(16) float t[4];
  _mm_store_ps(t, v);
  return (t[0] + t[1]) + (t[2] + t[3]);
}
#else
using Vec = float;
constexpr int kLanes = 1, kChains = 12;
constexpr const char* kIsa = "scalar";
inline Vec splat(float x) { return x; }
inline Vec madd(Vec a, Vec b, Vec c) { return a * b + c; }
inline float hsum(Vec v) { return v; }
#endif

// Keeps v in a register and hides its value from the optimizer (no memory access).
#if defined(__GNUC__) && defined(__SSE2__)
inline void opaque(Vec& v) { asm volatile("" : "+x"(v)); }
#elif defined(__GNUC__)
inline void opaque(Vec& v) { asm volatile("" : "+r"(v)); }
#else
inline void opaque(Vec&) {}
#endif

template <int I>
inline void step(Vec (&acc)[kChains], Vec m, Vec a) {
  acc[I] = madd(acc[I], m, a);
  if constexpr (I + 1 < kChains) step<I + 1>(acc, m, a);
}

}  // namespace

PeakFlopsKernel peak_flops_kernel() { return {kIsa, kLanes, kChains}; }

float run_peak_flops_kernel(long iterations) {
  // x <- x * m + a converges to a / (1 - m) = 1: every value stays finite and normal.
  Vec m = splat(0.999f), a = splat(0.001f);
  opaque(m);
  opaque(a);
  Vec acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = splat(0.5f + 0.01f * static_cast<float>(c));
  // The accumulators stay in registers (constant indices after inlining); the loop body is
  // kChains independent multiply-adds and nothing else.
  for (long i = 0; i < iterations; ++i) step<0>(acc, m, a);
  float s = 0.0f;
  for (int c = 0; c < kChains; ++c) s += hsum(acc[c]);
  return s;
}

PeakFlops measure_peak_flops(int threads, double seconds, int repeats) {
  if (threads < 1) throw std::invalid_argument("measure_peak_flops: threads must be >= 1, got " + std::to_string(threads));
  using clock = std::chrono::steady_clock;
  const PeakFlopsKernel k = peak_flops_kernel();
  // Calibrate the iteration count on this thread: about `seconds` per copy.
  long iters = 1 << 16;
  for (;;) {
    const auto t0 = clock::now();
    volatile float sink = run_peak_flops_kernel(iters);
    (void)sink;
    const double dt = std::chrono::duration<double>(clock::now() - t0).count();
    if (dt >= 0.2 * seconds || iters > (1L << 40)) {
      iters = std::max(1L, static_cast<long>(static_cast<double>(iters) * seconds / std::max(dt, 1e-9)));
      break;
    }
    iters *= 4;
  }
  PeakFlops best;
  best.threads = threads;
  best.isa = k.isa;
  tbb::task_arena arena(threads);
  for (int r = 0; r < std::max(1, repeats); ++r) {
    std::vector<float> sums(static_cast<size_t>(threads));
    const auto t0 = clock::now();
    if (threads == 1) {
      sums[0] = run_peak_flops_kernel(iters);
    } else {
      arena.execute([&] {
        tbb::parallel_for(0, threads, 1, [&](int t) { sums[static_cast<size_t>(t)] = run_peak_flops_kernel(iters); });
      });
    }
    const double dt = std::chrono::duration<double>(clock::now() - t0).count();
    const double gflops = k.flops_per_iteration() * static_cast<double>(iters) * threads / dt * 1e-9;
    float sum = 0.0f;
    for (float s : sums) sum += s;
    if (gflops > best.gflops) {
      best.gflops = gflops;
      best.seconds = dt;
      best.checksum = sum;
    }
  }
  return best;
}

}  // namespace lagrad
