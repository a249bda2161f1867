#pragma once
// The differentiable continuous convolution op (Open3D's ml.ops.continuous_conv, plus
// gradients for positions, extents and offset).
//
//   out[j] = 1/psi_j * sum_{e in row j} a_e * imp_i * g(Lambda((x_i - x_j - offset_term) / extent_j)) f_i
//
// with i = neighbors_index[e], a_e = neighbors_importance[e] (1 when undefined), imp_i =
// inp_importance[i] (1 when undefined), psi_j = number of neighbors of j, or the sum of a_e
// over the row when neighbors_importance is given (only when options.normalize; psi=0 -> 0).
// See docs/continuous_conv.md for Lambda (mapping + interpolation) and the gradients.
#include "core/neighbor_search.h"
#include "core/tensor.h"
#include "layers/cconv_options.h"

namespace lagrad {

struct CConvInputs {
  Tensor filters;               // [kd, kh, kw, in, out]; axis 2 is x (fastest spatial axis)
  Tensor out_positions;         // [M, 3]
  Tensor extents;               // [1] / rank 0 (shared), [M] (per output) or [M, 3] (per axis)
  Tensor offset;                // [3]
  Tensor inp_positions;         // [N, 3]
  Tensor inp_features;          // [N, in]
  Tensor inp_importance;        // [N] or undefined
  const IndexVector* neighbors_index = nullptr;      // [E]
  const IndexVector* neighbors_row_splits = nullptr;  // [M + 1]
  Tensor neighbors_importance;  // [E] or undefined
};

// Returns [M, out]. Gradients flow to every defined Tensor input that requires one.
Tensor continuous_conv(const CConvInputs& in, const CConvOpOptions& options);

// The transpose (adjoint in the features): out[i] over input points i, gathering from the
// output points j that list i. Same inputs; inp_features is then [M, in] given at the
// out_positions ("out" side of the neighbor list), result [N, out]. See Open3D's
// continuous_conv_transpose for the exact argument mapping (documented in the header of the
// implementation).
Tensor continuous_conv_transpose(const CConvInputs& in, const CConvOpOptions& options);

}  // namespace lagrad
