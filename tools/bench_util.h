#pragma once
// Timing and memory helpers for benchmarks.
#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

#include "core/peak_flops.h"
#include "json.h"

namespace lagrad::tool {

// Wall time of one call of f, in milliseconds.
inline double ms_of(const std::function<void()>& f) {
  const auto a = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count();
}

// The middle element (upper middle for an even count); v must not be empty.
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median wall time in milliseconds of `repeats` calls of f (after one warm-up call).
template <class F>
double median_ms(int repeats, F&& f) {
  f();
  std::vector<double> t;
  for (int r = 0; r < std::max(repeats, 1); ++r) {
    const auto a = std::chrono::steady_clock::now();
    f();
    const auto b = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double, std::milli>(b - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// The FP32 peak at `threads` (core/peak_flops.h), measured just before and just after a
// benchmark's run on the same threads; fraction_of_peak divides by the larger of the two, so a
// load that comes and goes on a shared machine makes the fraction conservative, not inflated.
struct PeakAround {
  int threads = 1;
  double before_gflops = 0.0, after_gflops = 0.0;
  explicit PeakAround(int t) : threads(t), before_gflops(measure_peak_flops(t).gflops) {}
  void finish() { after_gflops = measure_peak_flops(threads).gflops; }
  double gflops() const { return std::max(before_gflops, after_gflops); }
  double fraction(double flop, double ms) const { return flop / (ms * 1e6) / gflops(); }
  // {"isa", "gflops", "before_gflops", "after_gflops"}
  Json json() const;
};

// Peak resident set size of this process so far, in MiB (VmHWM).
double peak_rss_mib();
// Resets the peak RSS counter where the kernel allows it (/proc/self/clear_refs); returns false otherwise.
bool reset_peak_rss();

}  // namespace lagrad::tool
