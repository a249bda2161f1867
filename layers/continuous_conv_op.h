#pragma once
// The differentiable continuous convolution op (Open3D's ml.ops.continuous_conv, plus
// gradients for positions, extents, offset and importances).
//
//   out[j] = 1/psi_j * sum_{e in row j} a_e * imp_i * sum_c w_c(v_e) * f_i^T filter[cell_c]
//
// with i = neighbors_index[e], a_e = neighbors_importance[e] (1 when undefined), imp_i =
// inp_importance[i] (1 when undefined), psi_j = number of neighbors of j, or the sum of a_e
// over the row when neighbors_importance is given (only when options.normalize; psi=0 -> 1).
// v_e are the voxel coordinates of the relative position x_i - x_j, scaled by the extent of
// output j and mapped (options.coordinate_mapping); offset [3] (voxel units) shifts them only
// when options.align_corners is false (as in Open3D). w_c, cell_c: options.interpolation.
// See docs/continuous_conv.md for the formulas and the gradients.
#include <memory>

#include "../core/neighbor_search.h"
#include "../core/tensor.h"
#include "cconv_options.h"

namespace lagrad {

struct CConvInputs {
  Tensor filters;               // [kd, kh, kw, in, out]; axis 2 is x (fastest spatial axis)
  Tensor out_positions;         // [M, 3]
  Tensor extents;               // rank 0 / [1] (shared), [M] or [M, 1] (per output), [M, 3]
                                // (per output and axis) or [1, 3] (shared, per axis); > 0
  Tensor offset;                // [3]
  Tensor inp_positions;         // [N, 3]
  Tensor inp_features;          // [N, in]
  Tensor inp_importance;        // [N] or undefined
  const IndexVector* neighbors_index = nullptr;      // [E], values in [0, N)
  const IndexVector* neighbors_row_splits = nullptr;  // [M + 1], 0 ... E, non-decreasing
  Tensor neighbors_importance;  // [E] or undefined
  // Optional: an object that owns the two index arrays. When set, the recorded backward keeps
  // it alive instead of copying the arrays (the layers pass their NeighborList this way).
  std::shared_ptr<const void> neighbors_owner;
};

// Returns [M, out]. Gradients flow to every defined Tensor input that requires one: filters,
// inp_features, inp_importance, neighbors_importance, inp_positions, out_positions, extents and
// offset (the last only when align_corners is false; otherwise it has no effect).
Tensor continuous_conv(const CConvInputs& in, const CConvOpOptions& options);

// The transpose (Open3D's continuous_conv_transpose): the same neighbor list and geometry as
// continuous_conv, but the features live at the out_positions and the result at the input
// points:
//
//   out[i] = imp_i * sum_{e = (j, i)} a_e / psi_j * sum_c w_c(v_e) * h_j^T filter[cell_c]
//
// Here inp_features is [M, in] (h_j at out_positions), the result is [N, out], inp_importance
// [N] scales the result rows (Open3D's out_importance), and v_e, psi_j are exactly as in
// continuous_conv (relative position x_i - x_j, extent of j). With filters' channels swapped
// it is the adjoint of continuous_conv in the features. Same gradients as continuous_conv.
Tensor continuous_conv_transpose(const CConvInputs& in, const CConvOpOptions& options);

}  // namespace lagrad
