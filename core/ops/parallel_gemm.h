#pragma once
// Thread-parallel, thread-count-independent GEMM on row-major maps.
//
// Eigen's GEMM runs on one thread here (no OpenMP), so large products are split by rows into
// chunks whose boundaries depend only on the sizes: each chunk is one Eigen GEMM, computed the
// same way whatever thread runs it. Products that sum over the rows (weight gradients) compute
// one partial per chunk and add the partials in chunk order.
#include <vector>

#include "../parallel.h"
#include "../tensor.h"

namespace lagrad::detail {

constexpr Index kGemmRowChunk = 1024;

// C[M, N] (= or +=) A[M, K] * B[K, N], where B may be a transposed map expression.
template <class BExpr>
void gemm_rows(const float* A, Index M, Index K, const BExpr& B, float* C, Index N, bool accumulate) {
  parallel_for(num_chunks(M, kGemmRowChunk), 1, [&](Index c0, Index c1) {
    for (Index c = c0; c < c1; ++c) {
      const Index r0 = c * kGemmRowChunk, rows = std::min(kGemmRowChunk, M - r0);
      ConstMatrixMap a(A + r0 * K, rows, K);
      MatrixMap out(C + r0 * N, rows, N);
      if (accumulate)
        out.noalias() += a * B;
      else
        out.noalias() = a * B;
    }
  });
}

// C[P, Q] += A[M, P]^T * B[M, Q]: a sum over the M rows, by fixed chunks combined in order.
inline void gemm_sum_rows(const float* A, Index M, Index P, const float* B, Index Q, float* C) {
  const Index nc = num_chunks(M, kGemmRowChunk);
  MatrixMap out(C, P, Q);
  if (nc <= 1) {
    if (M > 0) out.noalias() += ConstMatrixMap(A, M, P).transpose() * ConstMatrixMap(B, M, Q);
    return;
  }
  std::vector<RowMatrix> parts(static_cast<size_t>(nc));
  parallel_for(nc, 1, [&](Index c0, Index c1) {
    for (Index c = c0; c < c1; ++c) {
      const Index r0 = c * kGemmRowChunk, rows = std::min(kGemmRowChunk, M - r0);
      parts[static_cast<size_t>(c)].noalias() =
          ConstMatrixMap(A + r0 * P, rows, P).transpose() * ConstMatrixMap(B + r0 * Q, rows, Q);
    }
  });
  for (const auto& p : parts) out += p;
}

}  // namespace lagrad::detail
