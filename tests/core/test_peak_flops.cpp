// core/peak_flops: the register-only FMA kernel returns a finite result and a positive, finite
// GFLOP/s. No timed assertions: performance figures live in `lagrad bench peak`.
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "core/peak_flops.h"

using namespace lagrad;

TEST_CASE("peak_flops: the kernel describes itself and its result is finite") {
  const PeakFlopsKernel k = peak_flops_kernel();
  CHECK(std::string(k.isa).size() > 0);
  CHECK(k.lanes >= 1);
  CHECK(k.chains >= 8);
  CHECK(k.flops_per_iteration() == doctest::Approx(2.0 * k.chains * k.lanes));
#if defined(__AVX512F__)
  CHECK(std::string(k.isa) == "avx512f");
  CHECK(k.lanes == 16);
#elif defined(__AVX2__) && defined(__FMA__)
  CHECK(std::string(k.isa) == "avx2+fma");
#elif defined(__SSE2__)
  CHECK(std::string(k.isa) == "sse2");
#endif
  // Each lane's chain converges to the fixed point 1 of x <- 0.999 x + 0.001.
  const float s = run_peak_flops_kernel(20000);
  CHECK(std::isfinite(s));
  CHECK(s == doctest::Approx(double(k.chains) * k.lanes).epsilon(1e-3));
  CHECK(std::isfinite(run_peak_flops_kernel(0)));
}

TEST_CASE("peak_flops: one and two threads measure a positive finite GFLOP/s") {
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    const PeakFlops p = measure_peak_flops(threads, 0.005, 1);
    CHECK(p.threads == threads);
    CHECK(std::isfinite(p.gflops));
    CHECK(p.gflops > 0.0);
    CHECK(p.seconds > 0.0);
    CHECK(std::isfinite(p.checksum));
    CHECK(std::string(p.isa) == peak_flops_kernel().isa);
  }
}

TEST_CASE("peak_flops: a thread count below one is refused") {
  CHECK_THROWS_WITH_AS(measure_peak_flops(0), "measure_peak_flops: threads must be >= 1, got 0", std::invalid_argument);
}
