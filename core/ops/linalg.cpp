// Matrix products: matmul and linear. Each pass is a row-chunked Eigen GEMM on zero-copy maps of
// the tensors (core/ops/parallel_gemm.h), writing (forward) or accumulating (backward) straight
// into the destination buffer.
#include "core/ops.h"
#include "core/ops/parallel_gemm.h"
#include "core/ops/reduce_kernels.h"

namespace lagrad {

using detail::require_defined;
using detail::require_rank;

namespace {
ConstMatrixMap cmap(const Tensor& t, Index rows, Index cols) { return ConstMatrixMap(t.data(), rows, cols); }
}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  require_defined("matmul", a, "a");
  require_defined("matmul", b, "b");
  if (a.rank() != 2 || b.rank() != 2 || a.dim(1) != b.dim(0))
    throw std::invalid_argument("matmul: cannot multiply a " + shape_str(a.shape()) + " by b " + shape_str(b.shape()) +
                                " (expected a [M, K] and b [K, N])");
  const Index M = a.dim(0), K = a.dim(1), N = b.dim(1);
  Tensor out({M, N});
  detail::gemm_rows(a.data(), M, K, cmap(b, K, N), out.data(), N, false);
  if (should_record({&a, &b})) {
    record_op(out, {&a, &b}, [a, b, M, K, N](const Tensor& out) {
      if (a.requires_grad())
        detail::gemm_rows(out.grad().data(), M, N, cmap(b, K, N).transpose(), a.mutable_grad().data(), K, true);
      if (b.requires_grad()) detail::gemm_sum_rows(a.data(), M, K, out.grad().data(), N, b.mutable_grad().data());
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
  // gemm_rows' row chunks, with the bias added to each chunk right after its product: in
  // parallel and while the chunk is still in cache (a separate pass would run on one thread).
  const auto wt = cmap(weight, N, K).transpose();
  const Index chunk = detail::kGemmRowChunk;
  parallel_for(num_chunks(M, chunk), 1, [&](Index c0, Index c1) {
    for (Index c = c0; c < c1; ++c) {
      const Index r0 = c * chunk, rows = std::min(chunk, M - r0);
      MatrixMap o(out.data() + r0 * N, rows, N);
      o.noalias() = ConstMatrixMap(x.data() + r0 * K, rows, K) * wt;
      if (has_bias) o.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias.data(), N);
    }
  });
  if (should_record({&x, &weight, &bias})) {
    record_op(out, {&x, &weight, &bias}, [x, weight, bias, M, K, N](const Tensor& out) {
      if (x.requires_grad())
        detail::gemm_rows(out.grad().data(), M, N, cmap(weight, N, K), x.mutable_grad().data(), K, true);
      if (weight.requires_grad())
        detail::gemm_sum_rows(out.grad().data(), M, N, x.data(), K, weight.mutable_grad().data());
      if (bias.defined() && bias.requires_grad()) {
        const float* g = out.grad().data();
        detail::column_sums(M, N, [g](Index k, Index) { return g[k]; }, bias.mutable_grad().data(), /*add=*/true);
      }
    });
  }
  return out;
}

}  // namespace lagrad
