// `lagrad bench neighbor_search`: fixed-radius search on the DLF workload.
//
// Workload: N points on a jittered cubic lattice (spacing 0.05, jitter uniform +-0.005 per
// coordinate, generated in lattice order), queries = points, radius 0.1125, L2, ignore query
// points (about 43-48 neighbors each). Each timing covers building the SpatialHashIndex and the
// whole search down to the CSR, median of `repeats` runs after a warm-up:
//   ms           the NeighborList is reused from call to call (a simulation loop): no
//                allocation, no zero-fill of the output arrays
//   ms_fresh     a new NeighborList per call (the returning overload): includes allocating and
//                zero-filling ~12 bytes per neighbor and the page faults that come with it
//   ms_shuffled  like ms, with the points in random order (rows are then written in random
//                order and neighbor indices are unrelated to positions)
//   ms_sorted    like ms, with RadiusSearchOptions::sort_neighbors (rows by point index
//                instead of the default spatial order)
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "bench_util.h"
#include "core/neighbor_search.h"
#include "core/parallel.h"
#include "core/random.h"
#include "registry.h"

namespace lagrad::tool {
namespace {

constexpr float kSpacing = 0.05f, kJitter = 0.005f, kRadius = 0.1125f;

std::vector<float> jittered_lattice(Index n, Rng& rng) {
  const Index side = static_cast<Index>(std::ceil(std::cbrt(static_cast<double>(n)) - 1e-9));
  std::vector<float> p;
  p.reserve(static_cast<size_t>(3 * n));
  for (Index i = 0; i < n; ++i) {
    const Index c[3] = {i % side, (i / side) % side, i / (side * side)};
    for (Index a : c) p.push_back(kSpacing * static_cast<float>(a) + rng.uniform(-kJitter, kJitter));
  }
  return p;
}

std::vector<float> shuffled(const std::vector<float>& p, Rng& rng) {
  const Index n = static_cast<Index>(p.size() / 3);
  std::vector<Index> order(n);
  std::iota(order.begin(), order.end(), Index(0));
  for (Index i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<std::uint64_t>(i + 1))]);
  std::vector<float> out(p.size());
  for (Index i = 0; i < n; ++i)
    for (int k = 0; k < 3; ++k) out[3 * i + k] = p[3 * order[i] + k];
  return out;
}

void run(const BenchOptions& options, Json& out) {
  const std::vector<long> sizes = options.sizes.empty() ? std::vector<long>{10000, 100000, 1000000} : options.sizes;
  RadiusSearchOptions search;
  search.ignore_query_points = true;
  out.set("workload", "jittered lattice spacing 0.05 +-0.005, queries = points, radius 0.1125, L2, "
                      "ignore query points; index build + search");
  Json results = Json::array();
  for (long n_long : sizes) {
    const Index n = n_long;
    Rng rng(1234);
    const std::vector<float> points = jittered_lattice(n, rng);
    const std::vector<float> mixed = shuffled(points, rng);
    Json entry = Json::object();
    entry.set("n", static_cast<std::int64_t>(n));
    Json per_thread = Json::array();
    double ms_one = 0, ms_two = 0;
    double avg = 0;
    for (int threads : options.threads) {
      set_num_threads(threads);
      NeighborList reused;
      auto timed = [&](const std::vector<float>& p, NeighborList& list) {
        return median_ms(options.repeats, [&] {
          const SpatialHashIndex index(p.data(), n, kRadius);
          fixed_radius_search(p.data(), n, p.data(), n, kRadius, search, &index, list);
        });
      };
      const double ms = timed(points, reused);
      avg = static_cast<double>(reused.num_neighbors()) / static_cast<double>(std::max<Index>(n, 1));
      const double ms_fresh = median_ms(options.repeats, [&] {
        const SpatialHashIndex index(points.data(), n, kRadius);
        const NeighborList fresh = fixed_radius_search(points.data(), n, points.data(), n, kRadius, search, &index);
        if (fresh.num_queries() != n) throw std::logic_error("bench neighbor_search: wrong row count");
      });
      NeighborList reused_mixed;
      const double ms_mixed = timed(mixed, reused_mixed);
      RadiusSearchOptions sorted = search;
      sorted.sort_neighbors = true;
      NeighborList reused_sorted;
      const double ms_sorted = median_ms(options.repeats, [&] {
        const SpatialHashIndex index(points.data(), n, kRadius);
        fixed_radius_search(points.data(), n, points.data(), n, kRadius, sorted, &index, reused_sorted);
      });
      Json t = Json::object();
      t.set("threads", threads);
      t.set("ms", ms);
      t.set("ms_fresh", ms_fresh);
      t.set("ms_shuffled", ms_mixed);
      t.set("ms_sorted", ms_sorted);
      t.set("ns_per_point", 1e6 * ms / static_cast<double>(n));
      per_thread.push(std::move(t));
      if (threads == 1) ms_one = ms;
      if (threads == 2) ms_two = ms;
    }
    entry.set("avg_neighbors", avg);
    entry.set("runs", std::move(per_thread));
    if (ms_one > 0 && ms_two > 0) entry.set("speedup_2_vs_1", ms_one / ms_two);
    results.push(std::move(entry));
  }
  set_num_threads(0);
  out.set("results", std::move(results));
}

BenchRegistrar reg({"neighbor_search", "Spatial hash + fixed-radius search, DLF lattice workload", run});

}  // namespace
}  // namespace lagrad::tool
