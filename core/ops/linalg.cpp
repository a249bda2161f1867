// Matrix products: matmul and linear. Each pass is one Eigen GEMM on zero-copy maps of the
// tensors, writing (forward) or accumulating (backward, `noalias() +=`) straight into the
// destination buffer, so no temporaries are made.
#include "core/ops.h"
#include "core/ops/reduce_kernels.h"

namespace lagrad {

using detail::require_defined;
using detail::require_rank;

namespace {
ConstMatrixMap cmap(const Tensor& t, Index rows, Index cols) { return ConstMatrixMap(t.data(), rows, cols); }
MatrixMap grad_map(const Tensor& t, Index rows, Index cols) { return MatrixMap(t.mutable_grad().data(), rows, cols); }
}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  require_defined("matmul", a, "a");
  require_defined("matmul", b, "b");
  if (a.rank() != 2 || b.rank() != 2 || a.dim(1) != b.dim(0))
    throw std::invalid_argument("matmul: cannot multiply a " + shape_str(a.shape()) + " by b " + shape_str(b.shape()) +
                                " (expected a [M, K] and b [K, N])");
  const Index M = a.dim(0), K = a.dim(1), N = b.dim(1);
  Tensor out({M, N});
  MatrixMap(out.data(), M, N).noalias() = cmap(a, M, K) * cmap(b, K, N);
  if (should_record({&a, &b})) {
    record_op(out, [a, b, out, M, K, N]() {
      const ConstMatrixMap G = cmap(out.grad(), M, N);
      if (a.requires_grad()) grad_map(a, M, K).noalias() += G * cmap(b, K, N).transpose();
      if (b.requires_grad()) grad_map(b, K, N).noalias() += cmap(a, M, K).transpose() * G;
    });
  }
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  require_defined("linear", x, "x");
  require_defined("linear", weight, "weight");
  require_rank("linear", x, "x", 2);
  require_rank("linear", weight, "weight", 2);
  if (weight.dim(1) != x.dim(1))
    throw std::invalid_argument("linear: weight expected [out, in=" + std::to_string(x.dim(1)) + "] for x " +
                                shape_str(x.shape()) + ", got " + shape_str(weight.shape()));
  const Index M = x.dim(0), K = x.dim(1), N = weight.dim(0);
  const bool has_bias = bias.defined();
  if (has_bias && bias.shape() != Shape{N})
    throw std::invalid_argument("linear: bias expected [" + std::to_string(N) + "] for weight " +
                                shape_str(weight.shape()) + ", got " + shape_str(bias.shape()));
  Tensor out({M, N});
  MatrixMap O(out.data(), M, N);
  O.noalias() = cmap(x, M, K) * cmap(weight, N, K).transpose();
  if (has_bias) O.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias.data(), N);
  if (should_record({&x, &weight, &bias})) {
    record_op(out, [x, weight, bias, out, M, K, N]() {
      const ConstMatrixMap G = cmap(out.grad(), M, N);
      if (x.requires_grad()) grad_map(x, M, K).noalias() += G * cmap(weight, N, K);
      if (weight.requires_grad()) grad_map(weight, N, K).noalias() += G.transpose() * cmap(x, M, K);
      if (bias.defined() && bias.requires_grad()) {
        const float* g = out.grad().data();
        detail::column_sums(M, N, [g](Index k, Index) { return g[k]; }, bias.mutable_grad().data(), /*add=*/true);
      }
    });
  }
  return out;
}

}  // namespace lagrad
