#include "layers/neighbor_provenance.h"

#include <cstdio>
#include <cstring>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <string>

#include "layers/value_fingerprint.h"

namespace lagrad {

namespace {

std::uint64_t fingerprint(const Tensor& t) {
  return value_fingerprint(t.data(), sizeof(float) * static_cast<std::size_t>(t.numel()));
}

// Shapes the search treats alike map to one (see extent_layout in window_function.h).
Shape search_shape(const Tensor& extents) {
  const Shape& s = extents.shape();
  if (extents.numel() == 1 && s.size() <= 2) return {};
  if (s.size() == 2 && s[1] == 1) return {s[0]};
  return s;
}

std::string format_value(float v, int digits) {
  std::ostringstream s;
  s << std::setprecision(digits) << v;
  return s.str();
}

struct Extents {
  bool defined = false;
  Shape shape;
  float value = 0.0f;
  std::uint64_t fingerprint = 0;
};

Extents extents_of(const Tensor& extents) {
  Extents e;
  if (!extents.defined()) return e;
  e.defined = true;
  e.shape = search_shape(extents);
  e.value = extents.numel() == 1 ? extents.data()[0] : 0.0f;
  e.fingerprint = fingerprint(extents);
  return e;
}

std::string describe(const Extents& e) {
  if (!e.defined) return "undefined extents";
  if (e.shape.empty()) return "extent " + format_value(e.value, 6);
  char hex[20];
  std::snprintf(hex, sizeof hex, "%08llx", static_cast<unsigned long long>(e.fingerprint >> 32));
  return "extents " + shape_str(e.shape) + " #" + hex;
}

bool same(const Extents& a, const Extents& b) {
  if (a.defined != b.defined || a.shape != b.shape) return false;
  if (a.shape.empty()) return std::memcmp(&a.value, &b.value, sizeof(float)) == 0;
  return a.fingerprint == b.fingerprint;
}

Index point_count(const Tensor& t) { return t.defined() && t.rank() == 2 && t.dim(1) == 3 ? t.dim(0) : Index(-1); }

// Searching a set around itself passes one tensor twice: hash it once.
std::uint64_t queries_fingerprint(const Tensor& points, const Tensor& queries, std::uint64_t points_fp) {
  if (queries.data() == points.data() && queries.numel() == points.numel()) return points_fp;
  return fingerprint(queries);
}

}  // namespace

NeighborProvenance record_neighbor_provenance(const Tensor& points, const Tensor& queries, const Tensor& extents,
                                              Metric metric, bool ignore_query_points,
                                              const SpatialHashIndex* hash_table) {
  NeighborProvenance p;
  p.recorded = true;
  p.num_queries = queries.dim(0);
  p.num_points = points.dim(0);
  const Extents e = extents_of(extents);
  p.extents_shape = e.shape;
  p.extent = e.value;
  p.extents_fingerprint = e.fingerprint;
  p.metric = metric;
  p.ignore_query_points = ignore_query_points;
  p.points_fingerprint = fingerprint(points);
  p.queries_fingerprint = queries_fingerprint(points, queries, p.points_fingerprint);
  p.hash_table = hash_table;
  return p;
}

void check_neighbor_provenance(const NeighborProvenance& p, const NeighborRoles& roles, const Tensor& points,
                               const Tensor& queries, const Tensor& extents, Metric metric,
                               bool ignore_query_points, const SpatialHashIndex* hash_table) {
  const std::string L = std::string(roles.layer) + ": ";
  auto fail = [&](const std::string& was, const std::string& is) {
    throw std::invalid_argument(L + "neighbors were searched with " + was + ", this call uses " + is);
  };
  if (!p.recorded)
    throw std::invalid_argument(L + "neighbors carry no provenance: share lists made by cconv_radius_search "
                                    "(a list of your own goes in user_neighbors_index / user_neighbors_row_splits)");
  const Index rows = point_count(queries), cols = point_count(points);
  if (rows < 0 || cols < 0) return;
  auto counts = [&](Index r, Index c) {
    return std::string("[") + roles.rows_count + "=" + std::to_string(r) + ", " + roles.cols_count + "=" +
           std::to_string(c) + "]";
  };
  if (rows != p.num_queries || cols != p.num_points)
    throw std::invalid_argument(L + "neighbors were searched with " + counts(p.num_queries, p.num_points) +
                                ", this call has " + counts(rows, cols));
  if (metric != p.metric) fail("metric " + metric_name(p.metric), metric_name(metric));
  auto flag = [](bool b) { return std::string(b ? "true" : "false"); };
  if (ignore_query_points != p.ignore_query_points)
    fail("ignore_query_points = " + flag(p.ignore_query_points), flag(ignore_query_points));
  Extents was;
  was.defined = true;
  was.shape = p.extents_shape;
  was.value = p.extent;
  was.fingerprint = p.extents_fingerprint;
  const Extents is = extents_of(extents);
  if (!same(was, is)) {
    if (was.shape.empty() && is.defined && is.shape.empty()) {
      // Six digits unless they would print two different values alike.
      const int digits = format_value(was.value, 6) == format_value(is.value, 6) ? 9 : 6;
      fail("extent " + format_value(was.value, digits), format_value(is.value, digits));
    }
    fail(describe(was), describe(is));
  }
  if (hash_table && hash_table != p.hash_table)
    throw std::invalid_argument(L + "neighbors were searched " +
                                (p.hash_table ? "with another hash_table than this call's"
                                              : "without a hash_table, this call passes one") +
                                " (pass the list's hash_table or none)");
  auto other = [&](const char* name, Index n) {
    throw std::invalid_argument(L + "neighbors were searched on other " + name + " than this call's (same count " +
                                std::to_string(n) + ", other coordinates)");
  };
  const std::uint64_t points_fp = fingerprint(points);
  if (points_fp != p.points_fingerprint) other(roles.cols, cols);
  if (queries_fingerprint(points, queries, points_fp) != p.queries_fingerprint) other(roles.rows, rows);
}

}  // namespace lagrad
