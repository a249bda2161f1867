// `lagrad bench block_gemm`: the Eigen products inside the ContinuousConv kernels, alone (no
// gather, no geometry), on the DLF layer shapes, as a fraction of the FP32 peak measured in the
// same run at the same thread count (core/peak_flops.h). It separates what the GEMM shapes cost
// from what the interpolation gather costs in `lagrad bench cconv`.
//
// For N rows (--sizes, default 10000) in blocks of 64 rows (kCConvRowBlock, as the kernels run
// them; one A buffer reused, as the kernels' per-thread scratch), per layer cin -> cout with
// W = 64 cin (4x4x4 cells):
//   forward        O[64 x cout]  = A[64 x W] K[W x cout]            (cconv_gather_gemm)
//   kernel_grad    D[W x cout]  += A^T[W x 64] dOut[64 x cout]      (cconv_filter_grad, D col-major)
//   feature_grad   dF[64 x cin]  = B[64 x 64 cout] Kt[64 cout x cin] (the gather over the inverted list)
//   position_grad  G[64 x W]     = dOut[64 x cout] K^T[cout x W]    (cconv_edge_grad)
// and, for comparison, forward with blocks of 1024 rows (the filter packed 16x less often).
// FLOPs: 2 N W cout for each; fraction_of_peak = GFLOP/s / peak.
#include <Eigen/Core>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.h"
#include "core/parallel.h"
#include "core/random.h"
#include "registry.h"

namespace lagrad::tool {
namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ColMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

RowMat random_mat(Index r, Index c, Rng& rng) {
  RowMat m(r, c);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = rng.uniform(-1.0f, 1.0f);
  return m;
}

// Runs f(block_rows) for the blocks of N rows on the current threads (each task its own
// output, as the kernels do).
void blocks(Index n, Index rows_per_block, const std::function<void(Index, int)>& f) {
  parallel_for(num_chunks(n, rows_per_block), 1, [&](Index b0, Index b1) {
    for (Index b = b0; b < b1; ++b) f(std::min(rows_per_block, n - b * rows_per_block), tbb::this_task_arena::current_thread_index());
  });
}

Json run(Index n, int threads, int repeats) {
  set_num_threads(threads);
  Rng rng(3);
  const Index shapes[4][2] = {{4, 32}, {96, 64}, {64, 64}, {64, 3}};
  struct Row {
    std::string name;
    double ms[5], flop;
  };
  std::vector<Row> rows;
  PeakAround peak(threads);
  const int slots = std::max(1, tbb::this_task_arena::max_concurrency());
  for (const auto& s : shapes) {
    const Index cin = s[0], cout = s[1], W = 64 * cin, Wt = 64 * cout;
    const RowMat A = random_mat(1024, W, rng), K = random_mat(W, cout, rng), dO = random_mat(1024, cout, rng);
    const RowMat B = random_mat(64, Wt, rng), Kt = random_mat(Wt, cin, rng);
    const RowMat KT = K.transpose();
    std::vector<RowMat> O(static_cast<size_t>(slots), RowMat(1024, cout)), G(static_cast<size_t>(slots), RowMat(64, W));
    std::vector<RowMat> dF(static_cast<size_t>(slots), RowMat(64, cin));
    std::vector<ColMat> D(static_cast<size_t>(slots), ColMat::Zero(W, cout));
    const auto slot = [&](int t) { return static_cast<size_t>(t >= 0 && t < slots ? t : 0); };
    const std::function<void()> piece[5] = {
        [&] { blocks(n, 64, [&](Index r, int t) { O[slot(t)].topRows(r).noalias() = A.topRows(r) * K; }); },
        [&] { blocks(n, 64, [&](Index r, int t) { D[slot(t)].noalias() += A.topRows(r).transpose() * dO.topRows(r); }); },
        [&] { blocks(n, 64, [&](Index r, int t) { dF[slot(t)].topRows(r).noalias() = B.topRows(r) * Kt; }); },
        [&] { blocks(n, 64, [&](Index r, int t) { G[slot(t)].topRows(r).noalias() = dO.topRows(r) * KT; }); },
        [&] { blocks(n, 1024, [&](Index r, int t) { O[slot(t)].topRows(r).noalias() = A.topRows(r) * K; }); },
    };
    Row row{std::to_string(cin) + "->" + std::to_string(cout), {}, 2.0 * double(n) * double(W) * double(cout)};
    for (int q = 0; q < 5; ++q) row.ms[q] = median_ms(repeats, piece[q]);
    rows.push_back(row);
  }
  peak.finish();
  Json r = Json::object();
  r.set("rows", static_cast<std::int64_t>(n));
  r.set("threads", threads);
  r.set("peak", peak.json());
  Json layers = Json::array();
  const char* names[5] = {"forward", "kernel_grad", "feature_grad", "position_grad", "forward_1024_row_blocks"};
  for (const Row& row : rows) {
    Json l = Json::object();
    l.set("layer", row.name);
    l.set("flop", row.flop);
    for (int q = 0; q < 5; ++q) {
      Json p = Json::object();
      p.set("ms", row.ms[q]);
      p.set("gflops", row.flop / (row.ms[q] * 1e6));
      p.set("fraction_of_peak", peak.fraction(row.flop, row.ms[q]));
      l.set(names[q], std::move(p));
    }
    layers.push(std::move(l));
  }
  r.set("layers", std::move(layers));
  return r;
}

BenchRegistrar reg({"block_gemm",
                    "the Eigen products of the cconv kernels alone (64-row blocks, DLF layer shapes) as a fraction of the "
                    "FP32 peak",
                    [](const BenchOptions& opt, Json& out) {
                      const std::vector<long> sizes = opt.sizes.empty() ? std::vector<long>{10000} : opt.sizes;
                      out.set("eigen_gemm_threads", Eigen::nbThreads());
                      Json runs = Json::array();
                      for (long n : sizes)
                        for (int t : opt.threads) runs.push(run(static_cast<Index>(n), t, opt.repeats));
                      set_num_threads(0);
                      out.set("runs", std::move(runs));
                    }});

}  // namespace
}  // namespace lagrad::tool
