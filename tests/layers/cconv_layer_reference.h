#pragma once
// The slow twin of a whole ContinuousConv / ContinuousConvTranspose call, in double: a
// brute-force search over every pair with the layer's metric and extents layout, the normalized
// distances written from docs/continuous_conv.md (L2: sum (d_a/R_a)^2, L1: sum |d_a|/R_a,
// Linf: max |d_a|/R_a, R = extent/2), the window and the activation as double callables, the op
// reference (cconv_reference.h), the bias. Header-only; the layer tests compare against it.
#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <vector>

#include "cconv_reference.h"
#include "core/neighbor_search.h"
#include "core/tensor.h"
#include "layers/cconv_options.h"

namespace lagrad::testing {

using ScalarFn = std::function<double(double)>;

struct LayerReference {
  Metric metric = Metric::L2;
  bool ignore_query_points = false;
  CConvOpOptions op;
  ScalarFn window;      // on the normalized distance; empty: no window (importance 1)
  ScalarFn activation;  // empty: identity
};

inline std::vector<double> to_double(const Tensor& t) {
  if (!t.defined()) return {};
  return std::vector<double>(t.data(), t.data() + t.numel());
}

// Rows = queries, columns = points; r = normalized distance of every listed entry.
// boundary_margin: min over ALL pairs of |r - 1|, so a caller can keep the inclusion unambiguous.
struct RefNeighbors {
  IndexVector index, row_splits;
  std::vector<double> r;
  double boundary_margin = 1e9;
};

// The layouts the layers accept: scalar / [1], [rows] / [rows, 1], [rows, 3], [1, 3].
inline cconv_ref::ExtentKind reference_extent_kind(const Tensor& extents, Index rows) {
  if (extents.numel() == 1) return cconv_ref::ExtentKind::Shared;
  if (extents.rank() == 2 && extents.dim(1) == 3)
    return extents.dim(0) == rows ? cconv_ref::ExtentKind::PerAxis : cconv_ref::ExtentKind::SharedPerAxis;
  return cconv_ref::ExtentKind::PerPoint;
}

inline double reference_distance(Metric m, const double d[3], const double R[3]) {
  double v = 0.0;
  for (int a = 0; a < 3; ++a) {
    const double x = std::fabs(d[a]) / R[a];
    v = m == Metric::L2 ? v + x * x : m == Metric::L1 ? v + x : std::max(v, x);
  }
  return v;
}

inline RefNeighbors reference_search(const Tensor& points, const Tensor& queries, const Tensor& extents,
                                     Metric metric, bool ignore_query_points) {
  cconv_ref::Problem geo;  // only for extent_of
  geo.extent_kind = reference_extent_kind(extents, queries.dim(0));
  geo.extents = to_double(extents);
  const std::vector<double> P = to_double(points), Q = to_double(queries);
  RefNeighbors list;
  list.row_splits.push_back(0);
  for (Index q = 0; q < queries.dim(0); ++q) {
    const cconv_ref::Vec3 ext = geo.extent_of(q);
    const double R[3] = {0.5 * ext[0], 0.5 * ext[1], 0.5 * ext[2]};
    for (Index i = 0; i < points.dim(0); ++i) {
      const double d[3] = {P[3 * i] - Q[3 * q], P[3 * i + 1] - Q[3 * q + 1], P[3 * i + 2] - Q[3 * q + 2]};
      if (ignore_query_points && d[0] == 0.0 && d[1] == 0.0 && d[2] == 0.0) continue;
      const double r = reference_distance(metric, d, R);
      list.boundary_margin = std::min(list.boundary_margin, std::fabs(r - 1.0));
      if (r > 1.0) continue;
      list.index.push_back(i);
      list.r.push_back(r);
    }
    list.row_splits.push_back(static_cast<Index>(list.index.size()));
  }
  return list;
}

// The op's problem for rows = `rows_at` (where the list's rows live), columns = `cols_at`.
inline cconv_ref::Problem reference_problem(const LayerReference& ref, const Tensor& kernel, const Tensor& cols_at,
                                            const Tensor& rows_at, const Tensor& extents, const RefNeighbors& list,
                                            const Tensor& importance) {
  cconv_ref::Problem p;
  p.kd = kernel.dim(0), p.kh = kernel.dim(1), p.kw = kernel.dim(2);
  p.in_channels = kernel.dim(3), p.out_channels = kernel.dim(4);
  p.filters = to_double(kernel);
  p.out_positions = to_double(rows_at);
  p.inp_positions = to_double(cols_at);
  p.extent_kind = reference_extent_kind(extents, rows_at.dim(0));
  p.extents = to_double(extents);
  p.inp_importance = to_double(importance);
  p.neighbors_index = list.index;
  p.neighbors_row_splits = list.row_splits;
  if (ref.window)
    for (double r : list.r) p.neighbors_importance.push_back(ref.window(r));
  return p;
}

inline std::vector<double> reference_finish(const LayerReference& ref, std::vector<double> y, const Tensor& bias) {
  const std::vector<double> b = to_double(bias);
  for (size_t k = 0; k < y.size(); ++k) {
    if (!b.empty()) y[k] += b[k % b.size()];
    if (ref.activation) y[k] = ref.activation(y[k]);
  }
  return y;
}

// ContinuousConv: rows are the output points. Returns [M, out] row-major.
inline std::vector<double> reference_conv(const LayerReference& ref, const Tensor& kernel, const Tensor& bias,
                                          const Tensor& features, const Tensor& inp_positions,
                                          const Tensor& out_positions, const Tensor& extents,
                                          const Tensor& inp_importance = Tensor()) {
  const RefNeighbors list = reference_search(inp_positions, out_positions, extents, ref.metric, ref.ignore_query_points);
  const cconv_ref::Problem p =
      reference_problem(ref, kernel, inp_positions, out_positions, extents, list, inp_importance);
  return reference_finish(ref, cconv_ref::continuous_conv(p, to_double(features), ref.op), bias);
}

// ContinuousConvTranspose: rows are the input points (features, extents), columns the outputs.
// Returns [N, out] row-major.
inline std::vector<double> reference_conv_transpose(const LayerReference& ref, const Tensor& kernel, const Tensor& bias,
                                                    const Tensor& features, const Tensor& inp_positions,
                                                    const Tensor& out_positions, const Tensor& extents,
                                                    const Tensor& out_importance = Tensor()) {
  const RefNeighbors list = reference_search(out_positions, inp_positions, extents, ref.metric, ref.ignore_query_points);
  const cconv_ref::Problem p =
      reference_problem(ref, kernel, out_positions, inp_positions, extents, list, out_importance);
  return reference_finish(ref, cconv_ref::continuous_conv_transpose(p, to_double(features), ref.op), bias);
}

// max |a - b| over the elements; throws when the sizes differ.
inline double max_abs_diff(const Tensor& a, const std::vector<double>& b) {
  if (static_cast<size_t>(a.numel()) != b.size()) throw std::invalid_argument("max_abs_diff: sizes differ");
  double m = 0.0;
  for (size_t k = 0; k < b.size(); ++k) m = std::max(m, std::fabs(double(a.data()[k]) - b[k]));
  return m;
}

inline double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// True when every row lists the same columns (in any order).
inline bool same_rows(const IndexVector& index_a, const IndexVector& splits_a, const IndexVector& index_b,
                      const IndexVector& splits_b) {
  if (splits_a != splits_b) return false;
  for (size_t j = 0; j + 1 < splits_a.size(); ++j) {
    IndexVector a(index_a.begin() + splits_a[j], index_a.begin() + splits_a[j + 1]);
    IndexVector b(index_b.begin() + splits_b[j], index_b.begin() + splits_b[j + 1]);
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b) return false;
  }
  return true;
}

}  // namespace lagrad::testing
