// `lagrad bench cconv`: the ContinuousConv kernels on the DLF workload against Eigen's sgemm of
// the same shape.
//
// Workload: N points on a jittered cubic lattice (spacing 0.05, jitter +-0.005), inputs =
// outputs, extent 0.225 (radius 0.1125), L2, ignore query points, window poly6,
// kernel 4x4x4, ball_to_cube_volume_preserving, linear, align_corners, normalize off; the four
// DLF layers 4->32, 96->64, 64->64, 64->3.
//
// Per layer, each kernel piece is timed on its own (median of the repetitions), and an Eigen
// sgemm [N x 64*in] x [64*in x out] on the same threads (row blocks over TBB, Eigen itself is
// single-threaded) is timed back to back with it; "ratio" = median over repetitions of
// sgemm time / piece time, i.e. the piece's GFLOP/s (counting 2*N*64*in*out) as a fraction of
// sgemm's. Each piece also reports "flop", its FLOP count per layers/flop_count.h (block GEMM
// plus interpolation gather), "gflops" = flop / time, and "fraction_of_peak" = gflops / the FP32
// peak measured at the same thread count just before and after the run (core/peak_flops.h; the
// larger of the two). Pieces:
//   forward            gather the interpolated features per row block, one GEMM (cconv_gather_gemm)
//   kernel_grad        A^T dOut per row block, fixed partial sums (cconv_filter_grad)
//   feature_grad       cconv_feature_grad: the same gather over the inverted list with the
//                      transposed kernel, or for narrow inputs (4->32) dOut K^T first, then a
//                      cin-channel gather (cconv_feature_grad_contracts_first); then the
//                      gather + GEMM algorithm is timed back to back with it too
//                      ("feature_grad_by_gather_gemm": ms and speedup = its time / feature_grad's)
//   position_grad      G = dOut K^T per row block, 8 corner dots per edge, chain rule through
//                      interpolation and mapping (cconv_edge_grad), then the per-point sums
#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <vector>

#include "bench_util.h"
#include "core/neighbor_search.h"
#include "core/parallel.h"
#include "core/random.h"
#include "layers/flop_count.h"
#include "layers/kernels/cconv_kernels.h"
#include "registry.h"

namespace lagrad::tool {
namespace {

using kernels::CConvEdges;
using kernels::CConvGeometry;
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr float kSpacing = 0.05f, kJitter = 0.005f, kExtent = 0.225f;

// Repetitions for a piece that takes `ms`: fewer for the slow ones, so that the 100k runs stay
// within minutes (at least 3 timed runs).
int reps_for(double ms, int repeats) { return ms > 2000.0 ? std::min(repeats, 3) : repeats; }

struct Paired {
  double piece_ms, gemm_ms, ratio;
};
// Times piece and gemm back to back in each repetition (after one warm-up of each).
Paired paired(int repeats, const std::function<void()>& piece, const std::function<void()>& gemm) {
  const double warm = ms_of(piece);
  gemm();
  std::vector<double> tp, tg, ratio;
  for (int r = 0; r < reps_for(warm, repeats); ++r) {
    tp.push_back(ms_of(piece));
    tg.push_back(ms_of(gemm));
    ratio.push_back(tg.back() / tp.back());
  }
  return {median(tp), median(tg), median(ratio)};
}

std::vector<float> lattice(Index n, Rng& rng) {
  const Index side = static_cast<Index>(std::ceil(std::cbrt(static_cast<double>(n)) - 1e-9));
  std::vector<float> p(static_cast<size_t>(3 * n));
  Index k = 0;
  for (Index z = 0; z < side && k < n; ++z)
    for (Index y = 0; y < side && k < n; ++y)
      for (Index x = 0; x < side && k < n; ++x, ++k) {
        const Index c[3] = {x, y, z};
        for (int a = 0; a < 3; ++a) p[3 * k + a] = c[a] * kSpacing + rng.uniform(-kJitter, kJitter);
      }
  return p;
}

std::vector<float> random_vec(size_t n, float lo, float hi, Rng& rng) {
  std::vector<float> v(n);
  for (float& x : v) x = rng.uniform(lo, hi);
  return v;
}

// Eigen sgemm [rows x K] x [K x out] on the current threads: row blocks over TBB, the left
// matrix a reused buffer of at most kGemmRows rows (the full one would not fit for 100k x 6144).
struct SgemmBaseline {
  static constexpr Index kGemmRows = 16384, kBlock = 1024;
  Index rows, K, out;
  std::vector<float> a, b, c;
  SgemmBaseline(Index rows_, Index K_, Index out_, Rng& rng) : rows(rows_), K(K_), out(out_) {
    a = random_vec(static_cast<size_t>(std::min(rows, kGemmRows) * K), -1.0f, 1.0f, rng);
    b = random_vec(static_cast<size_t>(K * out), -1.0f, 1.0f, rng);
    c.resize(static_cast<size_t>(rows * out));
  }
  void run() {
    const Index ar = std::min(rows, kGemmRows);
    const Eigen::Map<const RowMat> B(b.data(), K, out);
    parallel_for(num_chunks(rows, kBlock), 1, [&](Index b0, Index b1) {
      for (Index blk = b0; blk < b1; ++blk) {
        const Index r0 = blk * kBlock, r1 = std::min(rows, r0 + kBlock);
        const Index a0 = r0 % ar;
        const Index n = std::min(r1 - r0, ar - a0);
        Eigen::Map<RowMat>(c.data() + r0 * out, n, out).noalias() =
            Eigen::Map<const RowMat>(a.data() + a0 * K, n, K) * B;
        if (n < r1 - r0)
          Eigen::Map<RowMat>(c.data() + (r0 + n) * out, r1 - r0 - n, out).noalias() =
              Eigen::Map<const RowMat>(a.data(), r1 - r0 - n, K) * B;
      }
    });
  }
};

struct Problem {
  Index n = 0;
  std::vector<float> pos;
  NeighborList list;
  InvertedNeighborList inv;
  std::vector<float> s, s_inv;  // window values (poly6), list and inverted order
  CConvGeometry geom;
  CConvEdges fwd, bwd;
};

// Piece times of one run, keyed "layer/piece", for the thread speedups.
using PieceTimes = std::vector<std::pair<std::string, double>>;

struct LayerResult {
  std::string name;
  Paired piece[4];   // forward, kernel_grad, feature_grad, position_grad
  double flop[4];    // their FLOP counts (layers/flop_count.h)
  double gemm_flop;  // the sgemm baseline's 2 N (64 in) out
  double fgrad_old_ms = 0.0, fgrad_speedup = 0.0;  // feature gradient by gather + GEMM, where not the default
};
constexpr const char* kPieces[4] = {"forward", "kernel_grad", "feature_grad", "position_grad"};

LayerResult run_layer(Problem& P, Index cin, Index cout, int repeats, Rng& rng, PieceTimes& times) {
  const int cells = P.geom.cells();
  const Index K = cells * cin;
  const std::vector<float> feats = random_vec(static_cast<size_t>(P.n * cin), -1.0f, 1.0f, rng);
  const std::vector<float> filt = random_vec(static_cast<size_t>(K * cout), -0.05f, 0.05f, rng);
  const std::vector<float> dout = random_vec(static_cast<size_t>(P.n * cout), -1.0f, 1.0f, rng);
  std::vector<float> out(static_cast<size_t>(P.n * cout)), dfilt(static_cast<size_t>(K * cout));
  std::vector<float> dfeat(feats.size());
  const size_t E = P.list.neighbors_index.size();
  std::vector<float> t(E), grel(3 * E), dpos(static_cast<size_t>(3 * P.n));
  SgemmBaseline gemm(P.n, K, cout, rng);
  const int ci = static_cast<int>(cin), co = static_cast<int>(cout);

  LayerResult L;
  L.piece[0] = paired(repeats, [&] { kernels::cconv_gather_gemm(P.geom, P.fwd, feats.data(), ci, filt.data(), co, out.data()); },
                      [&] { gemm.run(); });
  L.piece[1] = paired(
      repeats, [&] { kernels::cconv_filter_grad(P.geom, P.fwd, feats.data(), ci, dout.data(), co, dfilt.data(), false); },
      [&] { gemm.run(); });
  L.piece[2] = paired(
      repeats,
      [&] { kernels::cconv_feature_grad(P.geom, P.bwd, dout.data(), co, filt.data(), ci, dfeat.data()); },
      [&] { gemm.run(); });
  L.piece[3] = paired(
      repeats,
      [&] {
        kernels::CConvEdgeGradOut o;
        o.t = t.data();  // dL/da_e: needed for the window's share of the position gradient
        o.grel = grel.data();
        kernels::cconv_edge_grad(P.geom, P.fwd, feats.data(), ci, filt.data(), dout.data(), co, o);
        // x_i += sum over the inverted row, x_j -= sum over the row (fixed order)
        parallel_for(P.n, 256, [&](Index i0, Index i1) {
          for (Index i = i0; i < i1; ++i) {
            float acc[3] = {0.0f, 0.0f, 0.0f};
            for (Index k = P.inv.row_splits[i]; k < P.inv.row_splits[i + 1]; ++k)
              for (int a = 0; a < 3; ++a) acc[a] += grel[3 * P.inv.entry_index[k] + a];
            for (Index e = P.list.row_splits[i]; e < P.list.row_splits[i + 1]; ++e)
              for (int a = 0; a < 3; ++a) acc[a] -= grel[3 * e + a];
            for (int a = 0; a < 3; ++a) dpos[3 * i + a] = acc[a];
          }
        });
      },
      [&] { gemm.run(); });

  // Where the feature gradient contracts with the filter first, the other algorithm (transposed
  // filter, gather, GEMM) timed back to back with it: speedup = old time / new time.
  if (kernels::cconv_feature_grad_contracts_first(cells, ci, co)) {
    std::vector<float> kt(filt.size()), dfeat_old(feats.size());
    const Paired cmp = paired(
        repeats, [&] { kernels::cconv_feature_grad(P.geom, P.bwd, dout.data(), co, filt.data(), ci, dfeat.data()); },
        [&] {
          kernels::cconv_transpose_filter(filt.data(), cells, ci, co, kt.data());
          kernels::cconv_gather_gemm(P.geom, P.bwd, dout.data(), co, kt.data(), ci, dfeat_old.data());
        });
    L.fgrad_old_ms = cmp.gemm_ms;
    L.fgrad_speedup = cmp.ratio;
  }
  const CConvWork w{P.n, P.n, static_cast<Index>(E), cells, P.geom.corners(), cin, cout};
  L.flop[0] = cconv_forward_flops(w);
  L.flop[1] = cconv_filter_grad_flops(w);
  L.flop[2] = cconv_feature_grad_flops(w);
  L.flop[3] = cconv_position_grad_flops(w);
  L.gemm_flop = 2.0 * double(P.n) * double(K) * double(cout);
  L.name = std::to_string(cin) + "->" + std::to_string(cout);
  for (int q = 0; q < 4; ++q) times.emplace_back(L.name + "/" + kPieces[q], L.piece[q].piece_ms);
  return L;
}

Json layer_json(const LayerResult& L, const PeakAround& peak) {
  Json r = Json::object();
  r.set("layer", L.name);
  for (int q = 0; q < 4; ++q) {
    const Paired& p = L.piece[q];
    Json j = Json::object();
    j.set("ms", p.piece_ms);
    j.set("flop", L.flop[q]);
    j.set("gflops", L.flop[q] / (p.piece_ms * 1e6));
    j.set("fraction_of_peak", peak.fraction(L.flop[q], p.piece_ms));
    j.set("sgemm_ms", p.gemm_ms);
    j.set("ratio_to_sgemm", p.ratio);
    r.set(kPieces[q], std::move(j));
  }
  if (L.fgrad_old_ms > 0.0) {
    Json j = Json::object();
    j.set("ms", L.fgrad_old_ms);
    j.set("speedup_of_feature_grad", L.fgrad_speedup);
    r.set("feature_grad_by_gather_gemm", std::move(j));
  }
  const double gemm_ms = median({L.piece[0].gemm_ms, L.piece[1].gemm_ms, L.piece[2].gemm_ms, L.piece[3].gemm_ms});
  r.set("sgemm_ms", gemm_ms);
  r.set("sgemm_flop", L.gemm_flop);
  r.set("sgemm_gflops", L.gemm_flop / (gemm_ms * 1e6));
  r.set("sgemm_fraction_of_peak", peak.fraction(L.gemm_flop, gemm_ms));
  return r;
}

Json run_size(Index n, int threads, int repeats, PieceTimes& times) {
  set_num_threads(threads);
  Rng rng(42);
  Problem P;
  P.n = n;
  P.pos = lattice(n, rng);
  RadiusSearchOptions ro;
  ro.metric = Metric::L2;
  ro.ignore_query_points = true;
  ro.return_distances = true;
  const float radius = 0.5f * kExtent;
  std::vector<double> ts;
  for (int r = 0; r < std::max(repeats, 1); ++r)
    ts.push_back(ms_of([&] { P.list = fixed_radius_search(P.pos.data(), n, P.pos.data(), n, radius, ro); }));
  const double search_ms = median(ts);
  const double invert_ms = ms_of([&] {
    P.inv = invert_neighbor_list(P.list.neighbors_index, P.list.row_splits, n);
  });
  const size_t E = P.list.neighbors_index.size();
  P.s.resize(E);
  for (size_t e = 0; e < E; ++e) {
    const float t = 1.0f - P.list.distances[e] / (radius * radius);
    P.s[e] = std::min(std::max(t * t * t, 0.0f), 1.0f);
  }
  P.s_inv.resize(E);
  for (size_t k = 0; k < E; ++k) P.s_inv[k] = P.s[static_cast<size_t>(P.inv.entry_index[k])];

  P.geom.mapping = CoordinateMapping::BallToCubeVolumePreserving;
  P.geom.interpolation = Interpolation::Linear;
  P.geom.align_corners = true;
  P.geom.k[0] = P.geom.k[1] = P.geom.k[2] = 4;
  static const float inv_extent = 1.0f / kExtent;
  P.fwd = {n, n, P.list.row_splits.data(), P.list.neighbors_index.data(), P.s.data(), P.pos.data(), P.pos.data(),
           true, &inv_extent, 0, 0, false};
  P.bwd = {n, n, P.inv.row_splits.data(), P.inv.query_index.data(), P.s_inv.data(), P.pos.data(), P.pos.data(),
           false, &inv_extent, 0, 0, true};

  PeakAround peak(threads);
  std::vector<LayerResult> results;
  const Index shapes[4][2] = {{4, 32}, {96, 64}, {64, 64}, {64, 3}};
  for (const auto& s : shapes) results.push_back(run_layer(P, s[0], s[1], repeats, rng, times));
  peak.finish();

  Json r = Json::object();
  r.set("points", static_cast<std::int64_t>(n));
  r.set("threads", threads);
  r.set("search_ms", search_ms);
  r.set("invert_ms", invert_ms);
  r.set("avg_neighbors", double(E) / double(n));
  r.set("peak", peak.json());
  Json layers = Json::array();
  for (const LayerResult& L : results) layers.push(layer_json(L, peak));
  r.set("layers", std::move(layers));
  r.set("peak_rss_mib", peak_rss_mib());
  return r;
}

BenchRegistrar reg({"cconv",
                    "ContinuousConv kernels (DLF workload: forward, kernel/feature/position gradients) vs Eigen sgemm "
                    "of the same shape",
                    [](const BenchOptions& opt, Json& out) {
                      const std::vector<long> sizes = opt.sizes.empty() ? std::vector<long>{10000, 100000} : opt.sizes;
                      out.set("workload",
                              "jittered lattice 0.05 +-0.005, extent 0.225, L2, ignore query points, poly6, 4x4x4, "
                              "ball_to_cube_volume_preserving, linear, align_corners, normalize off");
                      out.set("repeats", opt.repeats);
                      out.set("eigen_gemm_threads", Eigen::nbThreads());
                      out.set("simd", Eigen::SimdInstructionSetsInUse());
                      Json runs = Json::array(), speedups = Json::array();
                      for (long n : sizes) {
                        std::vector<PieceTimes> per_thread;
                        for (int t : opt.threads) {
                          per_thread.emplace_back();
                          runs.push(run_size(static_cast<Index>(n), t, opt.repeats, per_thread.back()));
                        }
                        // time with the first thread count / time with each other one
                        for (size_t k = 1; k < per_thread.size(); ++k) {
                          Json sp = Json::object();
                          sp.set("points", static_cast<std::int64_t>(n));
                          sp.set("threads", opt.threads[k]);
                          sp.set("relative_to_threads", opt.threads[0]);
                          for (size_t q = 0; q < per_thread[k].size(); ++q)
                            sp.set(per_thread[k][q].first, per_thread[0][q].second / per_thread[k][q].second);
                          speedups.push(std::move(sp));
                        }
                      }
                      set_num_threads(0);
                      out.set("runs", std::move(runs));
                      out.set("speedups", std::move(speedups));
                      out.set("peak_rss_mib", peak_rss_mib());
                    }});

}  // namespace
}  // namespace lagrad::tool
