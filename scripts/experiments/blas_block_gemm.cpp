// Experiment (not part of the build): the block GEMMs of the cconv kernels (DLF layer shapes,
// 64-row blocks, as `lagrad bench block_gemm` times them with Eigen) with Eigen and with a
// CBLAS sgemm (OpenBLAS from Debian: libopenblas-dev), timed back to back in each repetition
// on one thread, next to the FP32 peak measured in the same process (core/peak_flops.cpp).
// Prints per shape: Eigen and BLAS fraction of peak and the median of the paired time ratios
// Eigen / BLAS (> 1: BLAS faster). See docs/performance.md.
//
// Build and run from the repository root (Release flags as the project's native build):
//   g++ -O3 -DNDEBUG -march=native -std=gnu++17 -I. -I/usr/include/eigen3 \
//       scripts/experiments/blas_block_gemm.cpp core/peak_flops.cpp -o /tmp/blas_block_gemm \
//       -lopenblas -ltbb
//   OPENBLAS_NUM_THREADS=1 /tmp/blas_block_gemm [rows=10000] [repeats=7]
#include <Eigen/Core>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

#include "core/peak_flops.h"

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ColMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

static double ms_of(const std::function<void()>& f) {
  const auto a = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count();
}
static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 10000;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 7;
  const long blocks = (n + 63) / 64;  // full 64-row blocks (the last one padded: a bound)
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto rnd = [&](long r, long c) {
    RowMat m(r, c);
    for (long i = 0; i < m.size(); ++i) m.data()[i] = u(rng);
    return m;
  };
  const double peak0 = lagrad::measure_peak_flops(1).gflops;
  std::printf("peak %.0f GFLOP/s (%s), %ld rows in 64-row blocks, %d repeats\n", peak0, lagrad::peak_flops_kernel().isa,
              n, repeats);
  std::printf("%-8s %-14s %-22s %8s %8s %14s\n", "layer", "piece", "shape m x k x n", "eigen", "blas", "eigen/blas");
  const long shapes[4][2] = {{4, 32}, {96, 64}, {64, 64}, {64, 3}};
  std::vector<double> results;
  for (const auto& s : shapes) {
    const long cin = s[0], cout = s[1], W = 64 * cin, Wt = 64 * cout;
    const RowMat A = rnd(64, W), K = rnd(W, cout), dO = rnd(64, cout), B = rnd(64, Wt), Kt = rnd(Wt, cin);
    const RowMat KT = K.transpose();
    RowMat O(64, cout), G(64, W), dF(64, cin);
    ColMat D = ColMat::Zero(W, cout);
    struct Piece {
      const char* name;
      long m, k, nn;
      std::function<void()> eigen, blas;
    };
    const Piece pieces[4] = {
        {"forward", 64, W, cout, [&] { O.noalias() = A * K; },
         [&] { cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 64, cout, W, 1.0f, A.data(), W, K.data(), cout, 0.0f, O.data(), cout); }},
        {"filter_grad", W, 64, cout, [&] { D.noalias() += A.transpose() * dO; },
         [&] { cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, W, cout, 64, 1.0f, A.data(), W, dO.data(), cout, 1.0f, D.data(), W); }},
        {"feature_grad", 64, Wt, cin, [&] { dF.noalias() = B * Kt; },
         [&] { cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 64, cin, Wt, 1.0f, B.data(), Wt, Kt.data(), cin, 0.0f, dF.data(), cin); }},
        {"position_grad", 64, cout, W, [&] { G.noalias() = dO * KT; },
         [&] { cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 64, W, cout, 1.0f, dO.data(), cout, KT.data(), W, 0.0f, G.data(), W); }},
    };
    for (const Piece& p : pieces) {
      const auto run = [&](const std::function<void()>& f) {
        return ms_of([&] {
          for (long b = 0; b < blocks; ++b) f();
        });
      };
      run(p.eigen);
      run(p.blas);
      std::vector<double> te, tb, ratio;
      for (int r = 0; r < repeats; ++r) {
        te.push_back(run(p.eigen));
        tb.push_back(run(p.blas));
        ratio.push_back(te.back() / tb.back());
      }
      const double flop = 2.0 * double(blocks) * double(p.m) * double(p.k) * double(p.nn);
      const double peak = std::max(peak0, lagrad::measure_peak_flops(1, 0.02, 1).gflops);
      char shape[64];
      std::snprintf(shape, sizeof shape, "%ld x %ld x %ld", p.m, p.k, p.nn);
      std::printf("%ld->%-5ld %-14s %-22s %8.2f %8.2f %14.2f\n", cin, cout, p.name, shape,
                  flop / (median(te) * 1e6) / peak, flop / (median(tb) * 1e6) / peak, median(ratio));
    }
  }
  {  // reference: one large square product, the best case for both libraries
    const long m = 2048;
    const RowMat X = rnd(m, m), Y = rnd(m, m);
    RowMat Z(m, m);
    const auto eig = [&] { Z.noalias() = X * Y; };
    const auto bl = [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, m, m, 1.0f, X.data(), m, Y.data(), m, 0.0f, Z.data(), m);
    };
    eig();
    bl();
    std::vector<double> te, tb, ratio;
    for (int r = 0; r < std::max(3, repeats / 2); ++r) {
      te.push_back(ms_of(eig));
      tb.push_back(ms_of(bl));
      ratio.push_back(te.back() / tb.back());
    }
    const double flop = 2.0 * double(m) * double(m) * double(m);
    const double peak = std::max(peak0, lagrad::measure_peak_flops(1, 0.02, 1).gflops);
    std::printf("%-8s %-14s %-22s %8.2f %8.2f %14.2f\n", "square", "reference", "2048 x 2048 x 2048",
                flop / (median(te) * 1e6) / peak, flop / (median(tb) * 1e6) / peak, median(ratio));
  }
  std::printf("(eigen, blas: fraction of the peak; eigen/blas: median of paired time ratios)\n");
  return 0;
}
