#pragma once
// Differentiable ops. Each op validates its inputs (std::invalid_argument naming the op and
// the shapes), computes its result with TBB-parallel kernels, and, when an input requires a
// gradient and gradients are enabled, records its backward on the active tape.
//
// Broadcasting (binary elementwise ops): both shapes equal; or one side a scalar (rank 0 or
// one element); or a = [N, C] with b = [C] (a row vector applied to every row), either order.
#include <vector>

#include "tensor.h"

namespace lagrad {

// Elementwise binary, with broadcasting.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
// With a constant.
Tensor add(const Tensor& a, float b);
Tensor mul(const Tensor& a, float b);

// Elementwise unary.
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor pow(const Tensor& x, float exponent);
Tensor abs(const Tensor& x);
Tensor clamp(const Tensor& x, float lo, float hi);  // gradient 0 outside [lo, hi]
Tensor square(const Tensor& x);

// Activations.
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, float negative_slope = 0.01f);
Tensor elu(const Tensor& x, float alpha = 1.0f);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor softplus(const Tensor& x);
// By name: "linear"/"none"/"" (identity), "relu", "leaky_relu", "elu", "tanh", "sigmoid",
// "softplus". Throws std::invalid_argument listing the known names.
Tensor activation(const Tensor& x, const std::string& name);
bool is_known_activation(const std::string& name);

// Linear algebra (rank-2). matmul: [M, K] x [K, N]. linear: x [M, K], weight [N, K] (PyTorch
// layout), optional bias [N]: x @ weight^T + bias, one GEMM per pass.
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// Reductions. Results do not depend on the thread count (fixed-order partial sums).
Tensor sum(const Tensor& x);              // rank 0
Tensor sum(const Tensor& x, int axis);    // removes the axis
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, int axis);

// Shape ops.
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor concat(const std::vector<Tensor>& xs, int axis);      // rank-2 inputs, axis 0 or 1
Tensor slice_cols(const Tensor& x, Index begin, Index end);  // x[:, begin:end]
Tensor index_select(const Tensor& x, const IndexVector& rows);  // x[rows], rank 1 or 2
// Per segment s: out[s] = sum of x[row_splits[s] : row_splits[s+1]]. x rank 1 or 2,
// row_splits non-decreasing from 0 to x.dim(0). Out: [num_segments] or [num_segments, C].
Tensor segment_sum(const Tensor& x, const IndexVector& row_splits);

// Operators for readable model code.
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, float b) { return add(a, b); }
inline Tensor operator*(const Tensor& a, float b) { return mul(a, b); }
inline Tensor operator*(float a, const Tensor& b) { return mul(b, a); }

}  // namespace lagrad
