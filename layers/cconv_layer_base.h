#pragma once
// CConvLayerBase: what ContinuousConv and ContinuousConvTranspose share. The validated options,
// the "offset" buffer, the "kernel" [kd, kh, kw, in, out] and "bias" [out] parameters, the
// check of a call's features, and how a call gets its neighbor lists (the user's, a shared
// search result, or its own radius search) with the window function's importance.
#include <memory>

#include "../core/neighbor_search.h"
#include "../core/tensor.h"
#include "cconv_options.h"
#include "continuous_conv_op.h"
#include "continuous_conv_options.h"
#include "module.h"
#include "neighbor_provenance.h"

namespace lagrad {

// Radius search as the layers do it: for each query, the points within extent/2 (L1, L2 or
// Linf). extents: a scalar / [1] (fixed radius; `hash_table`, built over the same points with a
// cell size >= the radius, is reused when given), [num_queries] or [num_queries, 1] (radius per
// query), [num_queries, 3] or [1, 3] (per axis: the points inside the axis-aligned ellipsoid,
// i.e. normalized distance <= 1). The result records its provenance (the counts, extents,
// metric, ignore_query_points, a fingerprint of the positions and the hash_table), so that a
// layer can refuse it for a call it does not fit.
std::shared_ptr<const CConvNeighborList> cconv_radius_search(const Tensor& points, const Tensor& queries,
                                                        const Tensor& extents, Metric metric,
                                                        bool ignore_query_points,
                                                        const SpatialHashIndex* hash_table = nullptr);


// The neighbor arguments of a layer call; ContinuousConvCall and ContinuousConvTransposeCall
// extend it. Rows of a list are the points the op sums for (ContinuousConv: output points;
// the transpose: input points).
struct CConvNeighborArgs {
  // A spatial index over the searched points, reused across calls; scalar extents only.
  const SpatialHashIndex* hash_table = nullptr;
  // Override the search (Open3D's user_neighbors_*). No window is applied;
  // user_neighbors_importance (optional, [E]) is used as the neighbor importance. The layer
  // checks the lists (ranges, row splits, importance length) and names these fields in errors.
  const IndexVector* user_neighbors_index = nullptr;
  const IndexVector* user_neighbors_row_splits = nullptr;
  Tensor user_neighbors_importance;
  // lagrad extension: a search result for these very positions and extents (from
  // cconv_radius_search with the layer's metric and ignore_query_points), shared between layers
  // instead of searching again. The window is applied as after an own search. The layer
  // checks the list's provenance against the call (std::invalid_argument on any mismatch).
  std::shared_ptr<const CConvNeighborList> neighbors;
};

class CConvLayerBase : public Module {
 public:
  // Creates the kernel (and bias) for in_channels inputs; no-op when already built with that
  // width, std::invalid_argument otherwise.
  virtual void build(Index in_channels);
  bool built() const { return kernel_.defined(); }
  const Tensor& kernel() const;  // std::logic_error before the layer is built
  const Tensor& bias() const { return bias_; }
  const Tensor& offset() const { return offset_; }
  const ContinuousConvOptions& options() const { return options_; }
  const CConvOpOptions& op_options() const { return op_options_; }
  Metric metric() const { return metric_; }

 protected:
  bool parameters_pending() const override { return !built(); }
  // Which point set indexes the rows of the layer's neighbor lists (the search queries).
  enum class NeighborRows { OutputPoints, InputPoints };
  // Validates the options (std::invalid_argument prefixed with layer_name).
  CConvLayerBase(const char* layer_name, NeighborRows rows, ContinuousConvOptions options);
  // Only derived constructors may build: build() is virtual.
  void build_if_width_known();

  // Checks that features are [num, in_channels] and builds the layer on the first call.
  void prepare_features(const Tensor& features);
  // Fills in.neighbors_*: the user's lists when given, else args.neighbors or a radius search of
  // `points` (the list's columns) around `queries` (its rows), weighted by the window.
  void resolve_neighbors(const CConvNeighborArgs& args, const Tensor& points, const Tensor& queries,
                         const Tensor& extents, CConvInputs& in) const;
  // The user's lists against the points (rows: queries, columns: points), with errors that
  // name the layer's user_neighbors_* arguments; std::invalid_argument.
  void check_user_neighbors(const CConvNeighborArgs& args, const Tensor& points, const Tensor& queries) const;
  // A shared list against this call: check_neighbor_provenance with the layer's names.
  void check_shared_neighbors(const CConvNeighborArgs& args, const Tensor& points, const Tensor& queries,
                              const Tensor& extents) const;
  // Bias and activation, the last two steps of both layers.
  Tensor finish(Tensor out) const;

  const char* layer_name_;
  NeighborRows rows_;  // names the rows and columns in user neighbor-list errors
  ContinuousConvOptions options_;
  CConvOpOptions op_options_;
  Metric metric_ = Metric::L2;
  WindowFunction window_;
  Tensor kernel_, bias_, offset_;
};

}  // namespace lagrad
