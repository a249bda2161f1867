#include "layers/cconv_layer_base.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/ops.h"

namespace lagrad {

namespace {
void check_regularizer(const char* layer, const Regularizer& r, const char* which) {
  auto ok = [](float v) { return std::isfinite(v) && v >= 0.0f; };
  if (!ok(r.l1) || !ok(r.l2))
    throw std::invalid_argument(std::string(layer) + ": " + which + " must have finite l1, l2 >= 0, got l1 = " +
                                std::to_string(r.l1) + ", l2 = " + std::to_string(r.l2));
}

// Re-throws a parser's std::invalid_argument with the layer name in front.
template <class F>
auto with_layer(const char* layer, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string(layer) + ": " + e.what());
  }
}

void validate_options(const char* layer, const ContinuousConvOptions& o, CConvOpOptions& op, Metric& metric,
                      WindowFunction& window) {
  const std::string L(layer);
  if (o.filters() < 1) throw std::invalid_argument(L + ": filters must be >= 1, got " + std::to_string(o.filters()));
  const auto& ks = o.kernel_size();
  if (ks.size() != 3 || std::any_of(ks.begin(), ks.end(), [](Index k) { return k < 1; })) {
    std::string got = "[";
    for (size_t i = 0; i < ks.size(); ++i) got += (i ? ", " : "") + std::to_string(ks[i]);
    throw std::invalid_argument(L + ": kernel_size expected 3 sizes >= 1 [kd, kh, kw], got " + got + "]");
  }
  if (o.in_channels() < 0)
    throw std::invalid_argument(L + ": in_channels must be >= 0 (0: inferred), got " + std::to_string(o.in_channels()));
  if (!o.activation_fn() && !is_known_activation(o.activation()))
    with_layer(layer, [&] { return activation(Tensor::scalar(0.0f), o.activation()); });  // throws the list
  with_layer(layer, [&] {
    validate_initializer(o.kernel_initializer());
    validate_initializer(o.bias_initializer());
    validate_initializer(o.dense_kernel_initializer());
    return 0;
  });
  check_regularizer(layer, o.kernel_regularizer(), "kernel_regularizer");
  check_regularizer(layer, o.bias_regularizer(), "bias_regularizer");
  check_regularizer(layer, o.dense_kernel_regularizer(), "dense_kernel_regularizer");
  op.coordinate_mapping = with_layer(layer, [&] { return parse_coordinate_mapping(o.coordinate_mapping()); });
  op.interpolation = with_layer(layer, [&] { return parse_interpolation(o.interpolation()); });
  op.align_corners = o.align_corners();
  op.normalize = o.normalize();
  metric = with_layer(layer, [&] { return parse_metric(o.radius_search_metric()); });
  for (float v : o.offset())
    if (!std::isfinite(v)) throw std::invalid_argument(L + ": offset must be finite");
  window = WindowFunction();
  if (o.window_fn()) {
    window = o.window_fn();
  } else if (!o.window_function().empty() && o.window_function() != "none") {
    window = with_layer(layer, [&] { return builtin_window(o.window_function()); });
  }
}

// Per query: the radii (half extents) along x, y, z.
struct QueryRadii {
  const float* ext;
  Index owner_stride, axis_stride;
  float r(Index q, int a) const { return 0.5f * ext[q * owner_stride + a * axis_stride]; }
};

// cconv_radius_search without the provenance: a layer's own search is never shared, so it
// skips the hashing.
std::shared_ptr<CConvNeighborList> search_neighbors(const Tensor& points, const Tensor& queries, const Tensor& extents,
                                                    Metric metric, bool ignore_query_points,
                                                    const SpatialHashIndex* hash_table) {
  const char* op = "cconv_radius_search";
  for (auto [t, name] : {std::pair{&points, "points"}, std::pair{&queries, "queries"}})
    if (!t->defined() || t->rank() != 2 || t->dim(1) != 3)
      throw std::invalid_argument(std::string(op) + ": " + name + " expected [num, 3], got " +
                                  (t->defined() ? shape_str(t->shape()) : std::string("undefined")));
  for (auto [t, name] : {std::pair{&points, "points"}, std::pair{&queries, "queries"}}) {
    const float* p = t->data();
    for (Index k = 0; k < t->numel(); ++k)
      if (!std::isfinite(p[k])) {
        std::ostringstream m;
        m << op << ": " << name << " has a non-finite value (" << p[k] << ") at [" << k / 3 << ", " << k % 3 << "]";
        throw std::invalid_argument(m.str());
      }
  }
  const Index N = points.dim(0), M = queries.dim(0);
  const ExtentLayout layout = extent_layout(op, extents, M, "num_queries");
  const Index owner_stride = layout.owner_stride, axis_stride = layout.axis_stride;
  const float* ext = extents.data();
  for (Index k = 0; k < extents.numel(); ++k)
    if (!(ext[k] > 0.0f) || !std::isfinite(ext[k]))
      throw std::invalid_argument(std::string(op) + ": extents must be positive and finite, got " +
                                  std::to_string(ext[k]) + " at flat index " + std::to_string(k));
  RadiusSearchOptions ro;
  ro.metric = metric;
  ro.ignore_query_points = ignore_query_points;
  ro.return_distances = false;
  auto list = std::make_shared<CConvNeighborList>();
  NeighborList& nl = *list;
  if (owner_stride == 0 && axis_stride == 0) {
    const float radius = 0.5f * ext[0];
    if (hash_table) {
      if (hash_table->num_points() != N)
        throw std::invalid_argument(std::string(op) + ": hash_table was built over " +
                                    std::to_string(hash_table->num_points()) + " points, expected num_inp=" +
                                    std::to_string(N));
      if (hash_table->cell_size() < radius)
        throw std::invalid_argument(std::string(op) + ": hash_table cell size " + std::to_string(hash_table->cell_size()) +
                                    " is smaller than the search radius " + std::to_string(radius));
    }
    nl = fixed_radius_search(points.data(), N, queries.data(), M, radius, ro, hash_table);
    return list;
  }
  const QueryRadii R{ext, owner_stride, axis_stride};
  std::vector<float> radii(static_cast<size_t>(M));
  for (Index q = 0; q < M; ++q) radii[q] = std::max(R.r(q, 0), std::max(R.r(q, 1), R.r(q, 2)));
  NeighborList ball = radius_search(points.data(), N, queries.data(), M, radii.data(), ro);
  if (axis_stride == 0) {
    nl = std::move(ball);
    return list;
  }
  // Per-axis extents: keep the points inside the ellipsoid of the metric.
  const float* P = points.data();
  const float* Q = queries.data();
  list->row_splits.push_back(0);
  for (Index q = 0; q < M; ++q) {
    for (Index e = ball.row_splits[q]; e < ball.row_splits[q + 1]; ++e) {
      const Index i = ball.neighbors_index[e];
      float v = 0.0f;
      for (int a = 0; a < 3; ++a) {
        const float d = std::fabs(P[3 * i + a] - Q[3 * q + a]) / R.r(q, a);
        v = metric == Metric::L2 ? v + d * d : metric == Metric::L1 ? v + d : std::max(v, d);
      }
      if (v <= 1.0f) list->neighbors_index.push_back(i);
    }
    list->row_splits.push_back(static_cast<Index>(list->neighbors_index.size()));
  }
  return list;
}

}  // namespace

std::shared_ptr<const CConvNeighborList> cconv_radius_search(const Tensor& points, const Tensor& queries,
                                                             const Tensor& extents, Metric metric,
                                                             bool ignore_query_points,
                                                             const SpatialHashIndex* hash_table) {
  auto list = search_neighbors(points, queries, extents, metric, ignore_query_points, hash_table);
  list->provenance = record_neighbor_provenance(points, queries, extents, metric, ignore_query_points, hash_table);
  return list;
}

CConvLayerBase::CConvLayerBase(const char* layer_name, NeighborRows rows, ContinuousConvOptions options)
    : layer_name_(layer_name), rows_(rows), options_(std::move(options)) {
  validate_options(layer_name_, options_, op_options_, metric_, window_);
  const auto& o = options_.offset();
  offset_ = register_buffer("offset", Tensor::from_vector({3}, {o[0], o[1], o[2]}));
}

void CConvLayerBase::build_if_width_known() {
  if (options_.in_channels() > 0) build(options_.in_channels());
}

void CConvLayerBase::build(Index in_channels) {
  const std::string L(layer_name_);
  if (in_channels < 1) throw std::invalid_argument(L + ": in_channels must be >= 1, got " + std::to_string(in_channels));
  if (built()) {
    if (kernel_.dim(3) != in_channels)
      throw std::invalid_argument(L + ": built for in_channels = " + std::to_string(kernel_.dim(3)) +
                                  ", asked to build for " + std::to_string(in_channels));
    return;
  }
  const auto& ks = options_.kernel_size();
  const Index out = options_.filters();
  const Index cells = ks[0] * ks[1] * ks[2];
  Tensor k({ks[0], ks[1], ks[2], in_channels, out});
  initialize(k, options_.kernel_initializer(), cells * in_channels, cells * out);
  kernel_ = register_parameter("kernel", k, options_.kernel_regularizer());
  if (options_.use_bias()) {
    Tensor b({out});
    initialize(b, options_.bias_initializer(), cells * in_channels, cells * out);
    bias_ = register_parameter("bias", b, options_.bias_regularizer());
  }
}

const Tensor& CConvLayerBase::kernel() const {
  if (!built())
    throw std::logic_error(std::string(layer_name_) + ": kernel read before the layer was built (no forward or build yet)");
  return kernel_;
}

void CConvLayerBase::prepare_features(const Tensor& features) {
  const std::string L(layer_name_);
  if (!features.defined() || features.rank() != 2)
    throw std::invalid_argument(L + ": inp_features expected [num_inp, in_channels], got " +
                                (features.defined() ? shape_str(features.shape()) : std::string("undefined")));
  if (!built()) build(features.dim(1));
  if (features.dim(1) != kernel_.dim(3))
    throw std::invalid_argument(L + ": inp_features expected [num_inp, in_channels=" + std::to_string(kernel_.dim(3)) +
                                "], got " + shape_str(features.shape()));
}

void CConvLayerBase::resolve_neighbors(const CConvNeighborArgs& args, const Tensor& points, const Tensor& queries,
                                       const Tensor& extents, CConvInputs& in) const {
  const std::string L(layer_name_);
  if (args.user_neighbors_index || args.user_neighbors_row_splits) {
    if (!args.user_neighbors_index || !args.user_neighbors_row_splits)
      throw std::invalid_argument(L + ": user_neighbors_index and user_neighbors_row_splits must be given together");
    check_user_neighbors(args, points, queries);
    in.neighbors_index = args.user_neighbors_index;
    in.neighbors_row_splits = args.user_neighbors_row_splits;
    in.neighbors_importance = args.user_neighbors_importance;
    return;
  }
  if (args.user_neighbors_importance.defined())
    throw std::invalid_argument(L + ": user_neighbors_importance needs user_neighbors_index and user_neighbors_row_splits");
  std::shared_ptr<const NeighborList> list = args.neighbors;
  if (list) {
    check_shared_neighbors(args, points, queries, extents);
  } else {
    try {
      list = search_neighbors(points, queries, extents, metric_, options_.radius_search_ignore_query_points(),
                              args.hash_table);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(L + ": " + e.what());
    }
  }
  in.neighbors_index = &list->neighbors_index;
  in.neighbors_row_splits = &list->row_splits;
  in.neighbors_owner = list;
  if (!window_) return;
  const Tensor r =
      normalized_neighbor_distances(points, queries, extents, list->neighbors_index, list->row_splits, metric_, list);
  in.neighbors_importance = window_(r);
  if (!in.neighbors_importance.defined() || in.neighbors_importance.shape() != r.shape())
    throw std::invalid_argument(L + ": window_fn must return one importance per neighbor, shape " +
                                shape_str(r.shape()) + ", got " +
                                (in.neighbors_importance.defined() ? shape_str(in.neighbors_importance.shape())
                                                                  : std::string("undefined")));
}

void CConvLayerBase::check_shared_neighbors(const CConvNeighborArgs& args, const Tensor& points,
                                            const Tensor& queries, const Tensor& extents) const {
  const NeighborRoles roles = rows_ == NeighborRows::OutputPoints
                                  ? NeighborRoles{layer_name_, "out_positions", "num_out", "inp_positions", "num_inp"}
                                  : NeighborRoles{layer_name_, "inp_positions", "num_inp", "out_positions", "num_out"};
  check_neighbor_provenance(args.neighbors->provenance, roles, points, queries, extents, metric_,
                            options_.radius_search_ignore_query_points(), args.hash_table);
}

void CConvLayerBase::check_user_neighbors(const CConvNeighborArgs& args, const Tensor& points,
                                          const Tensor& queries) const {
  // Malformed positions are the op's to report; the list is checked against well-formed ones.
  auto count = [](const Tensor& t) { return t.defined() && t.rank() == 2 && t.dim(1) == 3 ? t.dim(0) : Index(-1); };
  const Index rows = count(queries), cols = count(points);
  if (rows < 0 || cols < 0) return;
  const bool rows_are_inputs = rows_ == NeighborRows::InputPoints;
  const std::string rows_name = rows_are_inputs ? "num_inp" : "num_out";
  const std::string cols_name = rows_are_inputs ? "num_out" : "num_inp";
  const std::string L = std::string(layer_name_) + ": ";
  auto num = [](auto v) { return std::to_string(v); };
  const IndexVector& rs = *args.user_neighbors_row_splits;
  const IndexVector& idx = *args.user_neighbors_index;
  const Index E = static_cast<Index>(idx.size());
  if (static_cast<Index>(rs.size()) != rows + 1)
    throw std::invalid_argument(L + "user_neighbors_row_splits expected [" + rows_name + " + 1 = " + num(rows + 1) +
                                "], got [" + num(rs.size()) + "]");
  if (rs[0] != 0) throw std::invalid_argument(L + "user_neighbors_row_splits[0] must be 0, got " + num(rs[0]));
  for (Index j = 0; j < rows; ++j)
    if (rs[j + 1] < rs[j])
      throw std::invalid_argument(L + "user_neighbors_row_splits must be non-decreasing, got [" + num(j) +
                                  "] = " + num(rs[j]) + " > [" + num(j + 1) + "] = " + num(rs[j + 1]));
  if (rs[rows] != E)
    throw std::invalid_argument(L + "user_neighbors_row_splits ends at " + num(rs[rows]) +
                                " but user_neighbors_index has " + num(E) + " entries");
  for (Index e = 0; e < E; ++e)
    if (idx[e] < 0 || idx[e] >= cols)
      throw std::invalid_argument(L + "user_neighbors_index[" + num(e) + "] = " + num(idx[e]) + " out of range [0, " +
                                  cols_name + "=" + num(cols) + ")");
  const Tensor& imp = args.user_neighbors_importance;
  if (imp.defined() && imp.shape() != Shape{E})
    throw std::invalid_argument(L + "user_neighbors_importance expected [num_neighbors=" + num(E) + "], got " +
                                shape_str(imp.shape()));
}

Tensor CConvLayerBase::finish(Tensor out) const {
  if (bias_.defined()) out = add(out, bias_);
  if (options_.activation_fn()) return options_.activation_fn()(out);
  return activation(out, options_.activation());
}

}  // namespace lagrad
