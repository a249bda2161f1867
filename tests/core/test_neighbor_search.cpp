// Neighbor search against a brute-force O(N*M) twin in double precision.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/neighbor_search.h"
#include "core/parallel.h"
#include "core/random.h"

using namespace lagrad;

namespace {

using Points = std::vector<float>;  // [n, 3]

Index count_of(const Points& p) { return static_cast<Index>(p.size() / 3); }

Points uniform_points(Index n, float lo, float hi, std::uint64_t seed) {
  Rng rng(seed);
  Points p(3 * n);
  for (auto& v : p) v = rng.uniform(lo, hi);
  return p;
}

// The metric in double; for L2 the squared distance, as the search reports it.
double ref_distance(Metric m, const float* a, const float* b) {
  const double dx = std::fabs(double(a[0]) - b[0]), dy = std::fabs(double(a[1]) - b[1]),
               dz = std::fabs(double(a[2]) - b[2]);
  if (m == Metric::L2) return dx * dx + dy * dy + dz * dz;
  if (m == Metric::L1) return dx + dy + dz;
  return std::max(std::max(dx, dy), dz);
}

bool same_position(const float* a, const float* b) { return a[0] == b[0] && a[1] == b[1] && a[2] == b[2]; }

// Checks `got` against the brute force. Pairs within a relative 1e-5 of the radius may go
// either way (the search tests in float); everything else must agree, no point may be listed
// twice in a row, rows must be strictly ascending with sort_neighbors, distances must match.
void check_brute_force(const Points& pts, const Points& qs, const std::vector<float>& radii,
                       const RadiusSearchOptions& o, const NeighborList& got) {
  const Index np = count_of(pts), nq = count_of(qs);
  REQUIRE(got.row_splits.size() == static_cast<size_t>(nq + 1));
  REQUIRE(got.row_splits[0] == 0);
  REQUIRE(got.row_splits[nq] == got.num_neighbors());
  REQUIRE(got.distances.size() == (o.return_distances ? got.neighbors_index.size() : 0));
  Index errors = 0;
  for (Index q = 0; q < nq && errors < 5; ++q) {
    const double r = radii[q];
    const double thr = o.metric == Metric::L2 ? r * r : r;
    const float* qp = &qs[3 * q];
    std::set<Index> listed;
    for (Index e = got.row_splits[q]; e < got.row_splits[q + 1]; ++e) {
      const Index p = got.neighbors_index[e];
      if (p < 0 || p >= np) {
        ++errors;
        FAIL_CHECK("query " << q << ": neighbor index " << p << " out of range");
        continue;
      }
      if (o.sort_neighbors && e > got.row_splits[q] && !(got.neighbors_index[e - 1] < p)) {
        ++errors;
        FAIL_CHECK("query " << q << ": row not strictly ascending at entry " << e);
      }
      if (!listed.insert(p).second) {
        ++errors;
        FAIL_CHECK("query " << q << ": point " << p << " listed twice");
      }
      const double d = ref_distance(o.metric, &pts[3 * p], qp);
      if (d > thr * (1 + 1e-5) + 1e-30 || (o.ignore_query_points && same_position(&pts[3 * p], qp))) {
        ++errors;
        FAIL_CHECK("query " << q << ": point " << p << " listed at distance " << d << " > " << thr);
      }
      if (o.return_distances && std::fabs(got.distances[e] - d) > 1e-5 * d + 1e-30) {
        ++errors;
        FAIL_CHECK("query " << q << ": point " << p << " distance " << got.distances[e] << " != " << d);
      }
    }
    for (Index p = 0; p < np; ++p) {
      if (o.ignore_query_points && same_position(&pts[3 * p], qp)) continue;
      const double d = ref_distance(o.metric, &pts[3 * p], qp);
      if (d < thr * (1 - 1e-5) && !listed.count(p)) {
        ++errors;
        FAIL_CHECK("query " << q << ": point " << p << " at distance " << d << " <= " << thr << " missing");
      }
    }
  }
  CHECK(errors == 0);
}

void check_fixed(const Points& pts, const Points& qs, float radius, const RadiusSearchOptions& o) {
  const NeighborList got = fixed_radius_search(pts.data(), count_of(pts), qs.data(), count_of(qs), radius, o);
  check_brute_force(pts, qs, std::vector<float>(qs.size() / 3, radius), o, got);
}

// Every metric, with and without ignore_query_points, in both row orders.
void check_all_options(const Points& pts, const Points& qs, float radius) {
  for (Metric m : {Metric::L1, Metric::L2, Metric::Linf}) {
    for (bool ignore : {false, true}) {
      for (bool sort : {false, true}) {
        CAPTURE(metric_name(m));
        CAPTURE(ignore);
        CAPTURE(sort);
        RadiusSearchOptions o;
        o.metric = m;
        o.ignore_query_points = ignore;
        o.sort_neighbors = sort;
        check_fixed(pts, qs, radius, o);
      }
    }
  }
}

bool same_list(const NeighborList& a, const NeighborList& b) {
  return a.row_splits == b.row_splits && a.neighbors_index == b.neighbors_index &&
         a.distances.size() == b.distances.size() &&
         std::equal(a.distances.begin(), a.distances.end(), b.distances.begin(),
                    [](float x, float y) { return std::memcmp(&x, &y, sizeof(float)) == 0; });
}

// The list with each row sorted by point index (distances carried along).
NeighborList sorted_rows(NeighborList nl) {
  for (Index q = 0; q < nl.num_queries(); ++q) {
    const Index b = nl.row_splits[q], e = nl.row_splits[q + 1];
    std::vector<std::pair<Index, float>> row;
    for (Index k = b; k < e; ++k) row.emplace_back(nl.neighbors_index[k], nl.distances.empty() ? 0.0f : nl.distances[k]);
    std::sort(row.begin(), row.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    for (Index k = b; k < e; ++k) {
      nl.neighbors_index[k] = row[k - b].first;
      if (!nl.distances.empty()) nl.distances[k] = row[k - b].second;
    }
  }
  return nl;
}

}  // namespace

TEST_CASE("neighbor_search: metric names round-trip and bad names are rejected") {
  for (Metric m : {Metric::L1, Metric::L2, Metric::Linf}) CHECK(parse_metric(metric_name(m)) == m);
  CHECK_THROWS_WITH_AS(parse_metric("l2"), "parse_metric: unknown metric 'l2' (expected 'L1', 'L2' or 'Linf')",
                       std::invalid_argument);
}

TEST_CASE("neighbor_search: exact counts on an integer grid, radius inclusive") {
  // 5x5x5 grid of unit spacing: all distances are exact in float, so the boundary is sharp.
  Points g;
  for (int z = 0; z < 5; ++z)
    for (int y = 0; y < 5; ++y)
      for (int x = 0; x < 5; ++x) g.insert(g.end(), {float(x), float(y), float(z)});
  const Index center = 2 + 5 * (2 + 5 * 2);
  auto row_size = [&](Metric m, float r, bool ignore) {
    RadiusSearchOptions o;
    o.metric = m;
    o.ignore_query_points = ignore;
    const NeighborList nl = fixed_radius_search(g.data(), 125, g.data(), 125, r, o);
    return nl.row_splits[center + 1] - nl.row_splits[center];
  };
  CHECK(row_size(Metric::L2, 1.0f, false) == 7);   // itself and the 6 face neighbors
  CHECK(row_size(Metric::L2, 1.0f, true) == 6);
  CHECK(row_size(Metric::L1, 1.0f, false) == 7);
  CHECK(row_size(Metric::Linf, 1.0f, false) == 27);
  CHECK(row_size(Metric::L2, 1.5f, false) == 19);  // + the 12 edge neighbors at sqrt(2)
  CHECK(row_size(Metric::L1, 2.0f, false) == 25);  // 1 + 6 + 12 + 6 at L1 distance 2
  CHECK(row_size(Metric::Linf, 0.5f, false) == 1);
  CHECK(row_size(Metric::L2, 0.0f, false) == 1);  // radius 0 finds exact duplicates only
  CHECK(row_size(Metric::L2, 0.0f, true) == 0);
  check_all_options(g, g, 1.0f);
  check_all_options(g, g, 2.0f);
}

TEST_CASE("neighbor_search: random sets against brute force, all metrics") {
  const Points pts = uniform_points(700, -1.0f, 1.0f, 1);
  const Points qs = uniform_points(300, -1.2f, 1.2f, 2);
  check_all_options(pts, qs, 0.21f);
  check_all_options(pts, pts, 0.15f);
  // Clustered: half the points in a small ball, many neighbors per query.
  Points clustered = uniform_points(400, 0.0f, 0.05f, 3);
  const Points spread = uniform_points(400, -2.0f, 2.0f, 4);
  clustered.insert(clustered.end(), spread.begin(), spread.end());
  check_all_options(clustered, clustered, 0.3f);
}

TEST_CASE("neighbor_search: degenerate point sets") {
  SUBCASE("duplicate points") {
    Points p = uniform_points(50, 0.0f, 1.0f, 5);
    const Points copy = p;
    p.insert(p.end(), copy.begin(), copy.end());
    p.insert(p.end(), copy.begin(), copy.begin() + 30);
    check_all_options(p, p, 0.2f);
    RadiusSearchOptions o;
    o.ignore_query_points = true;
    const NeighborList nl = fixed_radius_search(p.data(), count_of(p), p.data(), count_of(p), 1e-3f, o);
    CHECK(nl.num_neighbors() == 0);  // the only close points are the duplicates, all ignored
  }
  SUBCASE("all points in one cell") {
    check_all_options(uniform_points(300, 0.5f, 0.51f, 6), uniform_points(40, 0.45f, 0.56f, 7), 0.5f);
  }
  SUBCASE("collinear points") {
    Points p;
    for (int i = 0; i < 200; ++i) p.insert(p.end(), {0.01f * i, 0.3f, -0.2f});
    Points q;
    for (int i = 0; i < 200; ++i) q.insert(q.end(), {0.3f, 0.01f * i - 0.5f, -0.2f});
    check_all_options(p, p, 0.05f);
    check_all_options(p, q, 0.05f);
  }
  SUBCASE("empty point set or query set") {
    const Points q = uniform_points(10, 0.0f, 1.0f, 8);
    NeighborList nl = fixed_radius_search(nullptr, 0, q.data(), 10, 0.5f);
    CHECK(nl.row_splits == IndexVector(11, 0));
    CHECK(nl.num_neighbors() == 0);
    nl = fixed_radius_search(q.data(), 10, nullptr, 0, 0.5f);
    CHECK(nl.row_splits == IndexVector{0});
    CHECK(nl.num_queries() == 0);
    const std::vector<float> radii(10, 0.5f);
    CHECK(radius_search(nullptr, 0, q.data(), 10, radii.data()).row_splits == IndexVector(11, 0));
  }
  SUBCASE("queries far away from every point") {
    const Points p = uniform_points(100, 0.0f, 1.0f, 9);
    const Points q = uniform_points(20, 50.0f, 60.0f, 10);
    const NeighborList nl = fixed_radius_search(p.data(), 100, q.data(), 20, 0.5f);
    CHECK(nl.row_splits == IndexVector(21, 0));
  }
  SUBCASE("far-apart points: 1e6 apart, small radius") {
    Points p = uniform_points(60, 0.0f, 1.0f, 11);
    const Points far = uniform_points(60, 1e6f, 1e6f + 1.0f, 12);
    p.insert(p.end(), far.begin(), far.end());
    p.insert(p.end(), {-1e6f, 0.0f, 0.0f, 0.0f, 1e6f, -1e6f});
    check_all_options(p, p, 0.3f);
  }
  SUBCASE("huge radius degrades to brute force") {
    const Points p = uniform_points(1000, 0.0f, 1.0f, 13);
    const Points q = uniform_points(30, -1.0f, 2.0f, 14);
    const NeighborList nl = fixed_radius_search(p.data(), 1000, q.data(), 30, 1e6f);
    CHECK(nl.num_neighbors() == 30 * 1000);
    check_all_options(p, q, 1e6f);
  }
  SUBCASE("tiny radius over a unit box") {
    Points p = uniform_points(500, 0.0f, 1.0f, 15);
    // A few partners 4e-7 away along x, so the tiny radius still finds something.
    for (int i = 0; i < 20; ++i) p.insert(p.end(), {p[3 * i] + 4e-7f, p[3 * i + 1], p[3 * i + 2]});
    check_all_options(p, p, 1e-6f);
    RadiusSearchOptions o;
    o.ignore_query_points = true;
    const NeighborList nl = fixed_radius_search(p.data(), count_of(p), p.data(), count_of(p), 1e-6f, o);
    CHECK(nl.num_neighbors() == 40);
  }
  SUBCASE("many candidates, few hits: a plane of points and queries just off it") {
    // Every point is a candidate of every query (one x-window, 3x3 rows), few are in reach:
    // the chunk buffers reserve room for the candidates and must give it back.
    Rng rng(40);
    Points p, q;
    for (int i = 0; i < 40000; ++i) p.insert(p.end(), {0.0f, rng.uniform(0.0f, 0.3f), rng.uniform(0.0f, 0.3f)});
    for (int i = 0; i < 1200; ++i) q.insert(q.end(), {0.099f, rng.uniform(0.1f, 0.2f), rng.uniform(0.1f, 0.2f)});
    for (bool sort : {false, true}) {
      RadiusSearchOptions o;
      o.sort_neighbors = sort;
      const NeighborList nl = fixed_radius_search(p.data(), 40000, q.data(), 1200, 0.1f, o);
      CHECK(nl.num_neighbors() > 1200);
      CHECK(nl.num_neighbors() < 1200 * 500);  // about 280 per query, of 40000 candidates
      check_brute_force(p, q, std::vector<float>(1200, 0.1f), o, nl);
    }
  }
  SUBCASE("huge coordinates with a tiny radius (cell coordinates clamp)") {
    Points p;
    for (int i = 0; i < 50; ++i) p.insert(p.end(), {1e30f * (i % 5 - 2), 3e29f * (i % 7), -1e30f + i});
    p.insert(p.end(), p.begin(), p.begin() + 30);
    check_all_options(p, p, 1e-3f);
  }
}

TEST_CASE("neighbor_search: a SpatialHashIndex is reusable across searches") {
  const Points p = uniform_points(800, -1.0f, 1.0f, 16);
  const SpatialHashIndex index(p.data(), 800, 0.25f);
  CHECK(index.num_points() == 800);
  CHECK(index.cell_size() == 0.25f);
  CHECK(std::equal(p.begin(), p.end(), index.points()));
  for (float r : {0.25f, 0.1f, 0.0f}) {
    for (const Points& q : {p, uniform_points(150, -1.5f, 1.5f, 17)}) {
      RadiusSearchOptions o;
      o.metric = Metric::L1;
      const NeighborList with = fixed_radius_search(p.data(), 800, q.data(), count_of(q), r, o, &index);
      const NeighborList without = fixed_radius_search(p.data(), 800, q.data(), count_of(q), r, o);
      // The spatial row order follows the index's cells: same rows up to order.
      CHECK(same_list(sorted_rows(with), sorted_rows(without)));
      if (r == index.cell_size()) CHECK(same_list(with, without));
      RadiusSearchOptions sorted = o;
      sorted.sort_neighbors = true;
      CHECK(same_list(fixed_radius_search(p.data(), 800, q.data(), count_of(q), r, sorted, &index),
                      sorted_rows(with)));
      check_brute_force(p, q, std::vector<float>(q.size() / 3, r), o, with);
    }
  }
  // A copy of the points in another buffer is accepted; other points or a larger radius are not.
  const Points copy = p;
  CHECK(fixed_radius_search(copy.data(), 800, copy.data(), 800, 0.2f, {}, &index).num_neighbors() > 0);
  CHECK_THROWS_WITH_AS(fixed_radius_search(p.data(), 800, p.data(), 800, 0.3f, {}, &index),
                       "fixed_radius_search: radius 0.3 exceeds the index cell_size 0.25", std::invalid_argument);
  Points other = p;
  other[5] += 1.0f;
  CHECK_THROWS_WITH_AS(fixed_radius_search(other.data(), 800, p.data(), 800, 0.2f, {}, &index),
                       "fixed_radius_search: index was built over other points than `points`",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(fixed_radius_search(p.data(), 799, p.data(), 800, 0.2f, {}, &index),
                       "fixed_radius_search: index holds 800 points, expected num_points = 799",
                       std::invalid_argument);
  // Moving keeps the index usable.
  SpatialHashIndex source(p.data(), 800, 0.25f);
  const SpatialHashIndex moved(std::move(source));
  CHECK(same_list(sorted_rows(fixed_radius_search(p.data(), 800, p.data(), 800, 0.2f, {}, &moved)),
                  sorted_rows(fixed_radius_search(p.data(), 800, p.data(), 800, 0.2f))));
  // An empty index.
  const SpatialHashIndex empty(nullptr, 0, 1.0f);
  CHECK(fixed_radius_search(nullptr, 0, p.data(), 3, 0.5f, {}, &empty).row_splits == IndexVector(4, 0));
}

TEST_CASE("neighbor_search: the overload writing into a NeighborList reuses it") {
  const Points p = uniform_points(600, 0.0f, 1.0f, 18);
  NeighborList out;
  for (float r : {0.2f, 0.1f, 0.15f}) {
    fixed_radius_search(p.data(), 600, p.data(), 600, r, {}, nullptr, out);
    CHECK(same_list(out, fixed_radius_search(p.data(), 600, p.data(), 600, r)));
  }
  RadiusSearchOptions o;
  o.return_distances = false;
  fixed_radius_search(p.data(), 600, p.data(), 600, 0.1f, o, nullptr, out);
  CHECK(out.distances.empty());
  CHECK(out.neighbors_index == fixed_radius_search(p.data(), 600, p.data(), 600, 0.1f).neighbors_index);
  fixed_radius_search(p.data(), 0, p.data(), 5, 0.1f, {}, nullptr, out);
  CHECK(out.row_splits == IndexVector(6, 0));
  CHECK(out.neighbors_index.empty());
}

TEST_CASE("neighbor_search: radius per query") {
  const Points p = uniform_points(600, -1.0f, 1.0f, 19);
  const Points q = uniform_points(200, -1.1f, 1.1f, 20);
  Rng rng(21);
  std::vector<float> radii(200);
  for (auto& r : radii) r = rng.uniform(0.0f, 0.35f);
  radii[3] = 0.0f;
  radii[7] = 0.6f;  // one large radius: the others still use their own
  for (Metric m : {Metric::L1, Metric::L2, Metric::Linf}) {
    for (bool ignore : {false, true}) {
      RadiusSearchOptions o;
      o.metric = m;
      o.ignore_query_points = ignore;
      check_brute_force(p, q, radii, o, radius_search(p.data(), 600, q.data(), 200, radii.data(), o));
      std::vector<float> self(600);
      for (size_t i = 0; i < self.size(); ++i) self[i] = 0.05f + 0.2f * float(i % 7) / 7;
      check_brute_force(p, p, self, o, radius_search(p.data(), 600, p.data(), 600, self.data(), o));
    }
  }
  // Equal radii give exactly the fixed-radius result.
  const std::vector<float> same(200, 0.2f);
  CHECK(same_list(radius_search(p.data(), 600, q.data(), 200, same.data()),
                  fixed_radius_search(p.data(), 600, q.data(), 200, 0.2f)));
}

TEST_CASE("neighbor_search: results do not depend on the thread count") {
  // Large enough for many parallel chunks in every stage.
  const Points p = uniform_points(20000, 0.0f, 2.0f, 22);
  const Points q = uniform_points(5000, 0.0f, 2.0f, 23);
  RadiusSearchOptions o;
  o.ignore_query_points = true;
  set_num_threads(1);
  const NeighborList one = fixed_radius_search(p.data(), 20000, p.data(), 20000, 0.12f, o);
  const NeighborList one_q = fixed_radius_search(p.data(), 20000, q.data(), 5000, 0.12f, o);
  const InvertedNeighborList inv_one = invert_neighbor_list(one.neighbors_index, one.row_splits, 20000);
  set_num_threads(2);
  const NeighborList two = fixed_radius_search(p.data(), 20000, p.data(), 20000, 0.12f, o);
  const NeighborList two_q = fixed_radius_search(p.data(), 20000, q.data(), 5000, 0.12f, o);
  const InvertedNeighborList inv_two = invert_neighbor_list(two.neighbors_index, two.row_splits, 20000);
  set_num_threads(0);
  CHECK(one.num_neighbors() > 20000 * 10);
  CHECK(same_list(one, two));
  CHECK(same_list(one_q, two_q));
  CHECK(inv_one.row_splits == inv_two.row_splits);
  CHECK(inv_one.query_index == inv_two.query_index);
  CHECK(inv_one.entry_index == inv_two.entry_index);
  // A spot check of the large set against brute force.
  const Points few(q.begin(), q.begin() + 3 * 40);
  check_fixed(p, few, 0.12f, o);
}

TEST_CASE("neighbor_search: row order, spatial by default, by point index with sort_neighbors") {
  // Points in random order, so that spatial order and index order differ.
  const Points p = uniform_points(6000, -1.0f, 1.0f, 30);
  const Points q = uniform_points(700, -1.1f, 1.1f, 31);
  const float radius = 0.2f;
  RadiusSearchOptions o;
  CHECK_FALSE(o.sort_neighbors);
  for (const Points* qs : {&p, &q}) {
    const Index nq = count_of(*qs);
    const NeighborList spatial = fixed_radius_search(p.data(), 6000, qs->data(), nq, radius, o);
    o.sort_neighbors = true;
    const NeighborList sorted = fixed_radius_search(p.data(), 6000, qs->data(), nq, radius, o);
    o.sort_neighbors = false;
    CHECK(spatial.num_neighbors() > 10 * nq);
    CHECK(same_list(sorted_rows(spatial), sorted));
    CHECK_FALSE(same_list(spatial, sorted));
    // Without distances: the same rows in both orders.
    RadiusSearchOptions bare = o;
    bare.return_distances = false;
    CHECK(fixed_radius_search(p.data(), 6000, qs->data(), nq, radius, bare).neighbors_index == spatial.neighbors_index);
    bare.sort_neighbors = true;
    const NeighborList bare_sorted = fixed_radius_search(p.data(), 6000, qs->data(), nq, radius, bare);
    CHECK(bare_sorted.neighbors_index == sorted.neighbors_index);
    CHECK(bare_sorted.row_splits == sorted.row_splits);
    CHECK(bare_sorted.distances.empty());
    check_brute_force(p, *qs, std::vector<float>(nq, radius), o, spatial);
    // Spatial order: by row z, row y (rows of width cell_size * (1 + 1e-4), the cell size being
    // the radius here), then x, then point index.
    const double w = double(radius) * (1 + 1e-4);
    auto key = [&](Index i) {
      const float* v = &p[3 * i];
      return std::make_tuple(std::floor(v[2] / w), std::floor(v[1] / w), v[0], i);
    };
    Index out_of_order = 0;
    for (Index r = 0; r < nq; ++r)
      for (Index e = spatial.row_splits[r] + 1; e < spatial.row_splits[r + 1]; ++e)
        out_of_order += !(key(spatial.neighbors_index[e - 1]) < key(spatial.neighbors_index[e]));
    CHECK(out_of_order == 0);
  }
  // Both orders are independent of the thread count.
  for (bool sort : {false, true}) {
    o.sort_neighbors = sort;
    set_num_threads(1);
    const NeighborList one = fixed_radius_search(p.data(), 6000, q.data(), 700, radius, o);
    set_num_threads(2);
    const NeighborList two = fixed_radius_search(p.data(), 6000, q.data(), 700, radius, o);
    set_num_threads(0);
    CHECK(same_list(one, two));
  }
}

TEST_CASE("neighbor_search: invert_neighbor_list round-trips") {
  const Points p = uniform_points(500, 0.0f, 1.0f, 24);
  const Points q = uniform_points(300, 0.0f, 1.0f, 25);
  const NeighborList nl = fixed_radius_search(p.data(), 500, q.data(), 300, 0.15f);
  const InvertedNeighborList inv = invert_neighbor_list(nl.neighbors_index, nl.row_splits, 500);
  REQUIRE(inv.row_splits.size() == 501);
  REQUIRE(inv.row_splits[500] == nl.num_neighbors());
  REQUIRE(inv.query_index.size() == nl.neighbors_index.size());
  std::vector<int> seen(nl.neighbors_index.size(), 0);
  for (Index pt = 0; pt < 500; ++pt) {
    for (Index k = inv.row_splits[pt]; k < inv.row_splits[pt + 1]; ++k) {
      const Index qi = inv.query_index[k], e = inv.entry_index[k];
      REQUIRE(e >= nl.row_splits[qi]);
      REQUIRE(e < nl.row_splits[qi + 1]);  // the entry lies in its query's row
      CHECK(nl.neighbors_index[e] == pt);
      if (k > inv.row_splits[pt]) CHECK(inv.query_index[k - 1] < qi);  // sorted by query
      ++seen[e];
    }
  }
  CHECK(std::all_of(seen.begin(), seen.end(), [](int s) { return s == 1; }));  // a permutation

  // Hand-made list: empty rows, a point listed twice in one row, an unreferenced point.
  const IndexVector nb{2, 0, 2, 2, 0};
  const IndexVector splits{0, 2, 2, 4, 5};
  const InvertedNeighborList h = invert_neighbor_list(nb, splits, 4);
  CHECK(h.row_splits == IndexVector{0, 2, 2, 5, 5});
  CHECK(h.query_index == IndexVector{0, 3, 0, 2, 2});
  CHECK(h.entry_index == IndexVector{1, 4, 0, 2, 3});
  const InvertedNeighborList none = invert_neighbor_list({}, {0, 0}, 3);
  CHECK(none.row_splits == IndexVector(4, 0));
}

TEST_CASE("neighbor_search: invalid input is rejected with the argument named") {
  const Points p = uniform_points(10, 0.0f, 1.0f, 26);
  CHECK_THROWS_WITH_AS(fixed_radius_search(p.data(), 10, p.data(), 10, -1.0f),
                       "fixed_radius_search: radius must be finite and >= 0, got -1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(fixed_radius_search(p.data(), 10, p.data(), 10, std::nanf("")),
                       "fixed_radius_search: radius must be finite and >= 0, got nan", std::invalid_argument);
  CHECK_THROWS_WITH_AS(fixed_radius_search(p.data(), -1, p.data(), 10, 0.1f),
                       "fixed_radius_search: num_points must be in [0, 2^32 - 1], got -1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(fixed_radius_search(p.data(), 10, p.data(), -3, 0.1f),
                       "fixed_radius_search: num_queries must be in [0, 2^32 - 1], got -3", std::invalid_argument);
  CHECK_THROWS_WITH_AS(fixed_radius_search(nullptr, 5, p.data(), 10, 0.1f),
                       "fixed_radius_search: points is null but holds 5 points", std::invalid_argument);
  CHECK_THROWS_WITH_AS(fixed_radius_search(p.data(), 10, nullptr, 2, 0.1f),
                       "fixed_radius_search: queries is null but holds 2 points", std::invalid_argument);
  Points bad = p;
  bad[3 * 4 + 1] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(fixed_radius_search(bad.data(), 10, p.data(), 10, 0.1f),
                       doctest::Contains("fixed_radius_search: points[4] must be finite, got ("),
                       std::invalid_argument);
  bad[3 * 4 + 1] = 0.5f;
  bad[3 * 7 + 2] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH_AS(fixed_radius_search(p.data(), 10, bad.data(), 10, 0.1f),
                       doctest::Contains("fixed_radius_search: queries[7] must be finite"), std::invalid_argument);
  // Queries sharing the points' buffer but reaching past it are still checked.
  CHECK_THROWS_WITH_AS(fixed_radius_search(nullptr, 0, nullptr, 4, 0.1f),
                       "fixed_radius_search: queries is null but holds 4 points", std::invalid_argument);
  bad[3 * 7 + 2] = 0.5f;
  bad[3 * 9] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH_AS(fixed_radius_search(bad.data(), 9, bad.data(), 10, 0.1f),
                       doctest::Contains("fixed_radius_search: queries[9] must be finite"), std::invalid_argument);
  bad[3 * 7 + 2] = std::numeric_limits<float>::infinity();
  std::vector<float> radii(10, 0.1f);
  radii[2] = -0.5f;
  CHECK_THROWS_WITH_AS(radius_search(p.data(), 10, p.data(), 10, radii.data()),
                       "radius_search: radii[2] must be finite and >= 0, got -0.5", std::invalid_argument);
  CHECK_THROWS_WITH_AS(radius_search(p.data(), 10, p.data(), 10, nullptr),
                       "radius_search: radii is null but 10 radii are expected", std::invalid_argument);
  CHECK_THROWS_WITH_AS(SpatialHashIndex(p.data(), 10, 0.0f),
                       "SpatialHashIndex: cell_size must be finite and > 0, got 0", std::invalid_argument);
  CHECK_THROWS_WITH_AS(SpatialHashIndex(bad.data(), 10, 1.0f),
                       doctest::Contains("SpatialHashIndex: points[7] must be finite"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(invert_neighbor_list({0, 5}, {0, 2}, 3),
                       "invert_neighbor_list: neighbors_index[1] = 5 is outside [0, num_points = 3)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(invert_neighbor_list({0, 1}, {0, 1}, 3),
                       "invert_neighbor_list: row_splits must start at 0 and end at neighbors_index.size() = 2, "
                       "got [0 .. 1]",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(invert_neighbor_list({0, 1}, {0, 2, 1, 2}, 3),
                       "invert_neighbor_list: row_splits must be non-decreasing, got row_splits[1] = 2 > "
                       "row_splits[2] = 1",
                       std::invalid_argument);
}
