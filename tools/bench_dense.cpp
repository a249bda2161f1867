// `lagrad bench dense`: a Dense layer's forward + backward through the tape against the bare
// Eigen GEMMs of the same products, to measure what the layer and the autodiff add.
//
//   layer:    y = x W^T + b, then backward(y, dY): dX = dY W, dW = dY^T x, db = colsum(dY)
//   baseline: the three GEMMs alone into preallocated outputs (no bias, no tape, no
//             allocation): Y = X W^T, dW = dY^T X, dX = dY W. Eigen's GEMM is single-threaded
//             here (no OpenMP), so with more than one thread the baseline splits the rows into
//             chunks run by parallel_for (dW: one partial per chunk, summed afterwards), as any
//             user would parallelize these products; on one thread it is three plain GEMMs.
//   FLOPs:    forward 2 rows 96 64, forward+backward 3x that (layers/flop_count.h);
//             *_fraction_of_peak = achieved GFLOP/s / the FP32 peak measured at the same
//             thread count just before and after (core/peak_flops.h, the larger of the two).
#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

#include "bench_util.h"
#include "core/parallel.h"
#include "core/random.h"
#include "core/tape.h"
#include "layers/dense.h"
#include "layers/flop_count.h"
#include "registry.h"

namespace lagrad::tool {
namespace {

constexpr Index kInFeatures = 96;
constexpr Index kUnits = 64;

Tensor random_tensor(const Shape& shape, Rng& rng) {
  Tensor t(shape);
  float* d = t.data();
  for (Index i = 0; i < t.numel(); ++i) d[i] = rng.uniform(-1.0f, 1.0f);
  return t;
}

// Times `layer` and `gemm` back to back in each repetition (after one warm-up of each), so
// both see the same machine load; the overhead is the median of the per-repetition ratios.
struct Paired {
  double layer_ms, gemm_ms, overhead;
};
Paired paired(int repeats, const std::function<void()>& layer, const std::function<void()>& gemm) {
  layer();
  gemm();
  std::vector<double> tl, tg, ratio;
  for (int r = 0; r < std::max(repeats, 1); ++r) {
    tl.push_back(ms_of(layer));
    tg.push_back(ms_of(gemm));
    ratio.push_back(tl.back() / tg.back() - 1.0);
  }
  return {median(tl), median(tg), median(ratio)};
}

Json run_size(Index rows, int threads, int repeats) {
  set_num_threads(threads);
  Rng rng(1);
  manual_seed(1);
  Dense layer(DenseOptions(kUnits).in_features(kInFeatures));
  Tensor x = random_tensor({rows, kInFeatures}, rng);
  x.set_requires_grad(true);  // so the backward computes dX, as inside a network
  const Tensor dy = random_tensor({rows, kUnits}, rng);

  // The baseline: the same three products on maps of the same buffers.
  const ConstMatrixMap X(x.data(), rows, kInFeatures);
  const ConstMatrixMap W(layer.weight().data(), kUnits, kInFeatures);
  const ConstMatrixMap DY(dy.data(), rows, kUnits);
  RowMatrix Y(rows, kUnits), DX(rows, kInFeatures), DW(kUnits, kInFeatures);
  constexpr Index kChunk = 4096;
  const Index chunks = num_chunks(rows, kChunk);
  std::vector<RowMatrix> dw_part(static_cast<size_t>(chunks), RowMatrix(kUnits, kInFeatures));
  // Y = X W^T and DX = DY W by row chunks; DW = DY^T X as per-chunk partials, then their sum.
  const auto forward_gemm = [&] {
    if (threads == 1) return void(Y.noalias() = X * W.transpose());
    parallel_for(chunks, 1, [&](Index c0, Index c1) {
      for (Index c = c0; c < c1; ++c) {
        const Index r0 = c * kChunk, n = std::min(kChunk, rows - r0);
        Y.middleRows(r0, n).noalias() = X.middleRows(r0, n) * W.transpose();
      }
    });
  };
  const auto backward_gemms = [&] {
    if (threads == 1) {
      DW.noalias() = DY.transpose() * X;
      DX.noalias() = DY * W;
      return;
    }
    parallel_for(chunks, 1, [&](Index c0, Index c1) {
      for (Index c = c0; c < c1; ++c) {
        const Index r0 = c * kChunk, n = std::min(kChunk, rows - r0);
        dw_part[c].noalias() = DY.middleRows(r0, n).transpose() * X.middleRows(r0, n);
        DX.middleRows(r0, n).noalias() = DY.middleRows(r0, n) * W;
      }
    });
    DW = dw_part[0];
    for (Index c = 1; c < chunks; ++c) DW += dw_part[c];
  };

  PeakAround peak(threads);
  const Paired fwd = paired(
      repeats,
      [&] {
        NoGradGuard no_grad;
        layer(x);
      },
      forward_gemm);
  const Paired fwd_bwd = paired(
      repeats,
      [&] {
        x.zero_grad();
        layer.zero_grad();
        backward(layer(x), dy);
      },
      [&] {
        forward_gemm();
        backward_gemms();
      });

  peak.finish();
  // FLOPs (layers/flop_count.h): forward 2 rows in out; backward dW and dX, as much again each.
  const double fwd_flop = dense_forward_flops(rows, kInFeatures, kUnits);
  const double fwd_bwd_flop = fwd_flop + dense_backward_flops(rows, kInFeatures, kUnits, /*input_grad=*/true);

  Json r = Json::object();
  r.set("rows", static_cast<std::int64_t>(rows));
  r.set("threads", threads);
  r.set("peak", peak.json());
  r.set("forward_flop", fwd_flop);
  r.set("forward_backward_flop", fwd_bwd_flop);
  r.set("layer_forward_fraction_of_peak", peak.fraction(fwd_flop, fwd.layer_ms));
  r.set("gemm_forward_fraction_of_peak", peak.fraction(fwd_flop, fwd.gemm_ms));
  r.set("layer_forward_backward_fraction_of_peak", peak.fraction(fwd_bwd_flop, fwd_bwd.layer_ms));
  r.set("gemm_forward_backward_fraction_of_peak", peak.fraction(fwd_bwd_flop, fwd_bwd.gemm_ms));
  r.set("layer_forward_ms", fwd.layer_ms);
  r.set("gemm_forward_ms", fwd.gemm_ms);
  r.set("layer_forward_backward_ms", fwd_bwd.layer_ms);
  r.set("gemm_forward_backward_ms", fwd_bwd.gemm_ms);
  r.set("forward_overhead", fwd.overhead);
  r.set("forward_backward_overhead", fwd_bwd.overhead);
  return r;
}

BenchRegistrar reg({"dense",
                    "Dense 96->64 forward+backward (tape) vs the bare Eigen GEMMs; overhead = median(layer/gemm) - 1",
                    [](const BenchOptions& opt, Json& out) {
                      const std::vector<long> sizes = opt.sizes.empty() ? std::vector<long>{100000} : opt.sizes;
                      out.set("in_features", static_cast<std::int64_t>(kInFeatures));
                      out.set("units", static_cast<std::int64_t>(kUnits));
                      out.set("repeats", opt.repeats);
                      // Eigen's own GEMM threading needs OpenMP; without it every GEMM is single-threaded.
                      out.set("eigen_gemm_threads", Eigen::nbThreads());
                      Json runs = Json::array();
                      for (long n : sizes)
                        for (int t : opt.threads) runs.push(run_size(static_cast<Index>(n), t, opt.repeats));
                      set_num_threads(0);
                      out.set("runs", std::move(runs));
                    }});

}  // namespace
}  // namespace lagrad::tool
