#pragma once
// The machine's FP32 FMA peak as this build can reach it: a register-only kernel of independent
// multiply-add chains in the widest vector ISA the build targets (AVX-512, AVX2+FMA, else the
// SSE2 baseline without FMA, else scalar), chosen at compile time. The benchmarks divide their
// achieved GFLOP/s by this figure measured in the same process ("fraction_of_peak").
//
// The kernel touches no memory in its loop (every operand lives in a register) and its result
// is consumed, so the compiler can neither drop nor shorten it. Its chains are independent and
// numerous enough (chains >= FMA latency x FMA issue rate) to keep every FMA pipe busy.
namespace lagrad {

struct PeakFlopsKernel {
  const char* isa;  // "avx512f", "avx2+fma", "sse2" (mul + add, no FMA) or "scalar"
  int lanes;        // floats per vector register
  int chains;       // independent accumulator registers
  // FLOPs of one iteration: chains * lanes * 2 (a multiply-add counts as two FLOPs).
  double flops_per_iteration() const { return 2.0 * chains * lanes; }
};
// The kernel this build compiled.
PeakFlopsKernel peak_flops_kernel();

// Runs the kernel for `iterations` iterations on the calling thread and returns the sum of its
// accumulators (finite: the chains converge to a fixed point), so that callers consume it.
float run_peak_flops_kernel(long iterations);

struct PeakFlops {
  double gflops = 0.0;   // best of the repetitions, all threads together
  double seconds = 0.0;  // wall time of that repetition
  int threads = 1;
  const char* isa = "";
  float checksum = 0.0f;  // the kernel's result (consumed)
};
// Measures the peak with `threads` copies of the kernel running concurrently (one TBB task
// each, in an arena of that many threads; 1: on the calling thread): each copy runs long enough
// for about `seconds` of wall time, best of `repeats` runs.
PeakFlops measure_peak_flops(int threads, double seconds = 0.05, int repeats = 3);

}  // namespace lagrad
