#pragma once
// Window functions of ContinuousConv and the normalized neighbor distances they are applied to.
//
// The layer computes, per neighbor entry e = (output j, input i), the distance of the input to
// the output normalized by the search radius R = extent / 2 (per axis with [M, 3] extents):
//   L2:   sum_a (d_a / R_a)^2      (the squared distance / R^2, as Open3D passes it)
//   L1:   sum_a |d_a| / R_a
//   Linf: max_a |d_a| / R_a
// with d = x_i - x_j, then applies the window to that [E] tensor; the result is the neighbor
// importance a_e of the op. Both steps are differentiable, so position and extent gradients
// flow through the window.
#include <functional>
#include <memory>
#include <string>

#include "../core/neighbor_search.h"
#include "../core/tensor.h"

namespace lagrad {

using WindowFunction = std::function<Tensor(const Tensor&)>;

// Built-in windows by name (input: the normalized distance r of the metric above):
//   "poly6"      clamp((1 - r)^3, 0, 1)   (DLF's window on r = dist^2 / R^2 with L2)
//   "rectangle"  1 everywhere (constant, no gradient)
//   "triangle"   clamp(1 - r, 0, 1)
// Throws std::invalid_argument naming the value and listing the known names.
WindowFunction builtin_window(const std::string& name);
bool is_builtin_window(const std::string& name);

// The fused poly6 window: clamp((1 - r)^3, 0, 1), differentiable in r.
Tensor window_poly6(const Tensor& r);

// How an extents tensor is laid out for `rows` owners: extent of owner o along axis a is
// extents[o * owner_stride + a * axis_stride]. Accepts a scalar / [1], [rows], [rows, 1],
// [rows, 3] and [1, 3]; otherwise throws std::invalid_argument "<op>: extents expected ...",
// naming the rows as `rows_name` (e.g. "num_queries").
struct ExtentLayout {
  Index owner_stride = 0, axis_stride = 0;
};
ExtentLayout extent_layout(const char* op, const Tensor& extents, Index rows, const std::string& rows_name);

// Normalized distances [E] of the neighbor entries (see above), differentiable with respect to
// inp_positions [N, 3], out_positions [M, 3] and extents (scalar/[1], [M], [M, 1], [M, 3] or
// [1, 3], the radius being half the extent). Rows of the list are output points. When
// `neighbors_owner` (an object owning both index arrays) is given, the recorded backward keeps
// it alive instead of copying the arrays.
Tensor normalized_neighbor_distances(const Tensor& inp_positions, const Tensor& out_positions,
                                     const Tensor& extents, const IndexVector& neighbors_index,
                                     const IndexVector& neighbors_row_splits, Metric metric,
                                     std::shared_ptr<const void> neighbors_owner = nullptr);

}  // namespace lagrad
