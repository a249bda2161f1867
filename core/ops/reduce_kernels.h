#pragma once
// Deterministic summation kernels (internal). Work is cut into chunks whose boundaries depend
// only on the sizes; partial sums (double) are combined in chunk order, so the result is bitwise
// the same for any thread count.
#include <algorithm>
#include <vector>

#include "op_util.h"

namespace lagrad::detail {

// sum_{i < n} v(i), accumulated in double.
template <class V>
double sum_all(Index n, V v) {
  return deterministic_reduce<double>(
      n, kReduceChunk, 0.0,
      [&](Index, Index b, Index e) {
        double acc = 0.0;
        for (Index i = b; i < e; ++i) acc += v(i);
        return acc;
      },
      [](double a, double p) { return a + p; });
}

// Sums over the middle axis of a [outer, len, inner] array: out[o, i] = sum_l v(k, i) where
// k = (o * len + l) * inner + i is the flat index and i the inner index. `out` holds outer * inner floats and is
// overwritten (add = false) or added to (add = true).
template <class V>
void sum_middle_axis(Index outer, Index len, Index inner, V v, float* out, bool add) {
  const Index n_out = outer * inner;
  if (n_out == 0) return;
  auto store = [&](Index k, double s) { out[k] = add ? out[k] + static_cast<float>(s) : static_cast<float>(s); };
  // Enough independent outputs: each (o, block of i) is summed serially over l, so its value
  // cannot depend on how the outputs are spread over threads.
  if (outer >= 16 || len * inner < 4 * kReduceChunk) {
    parallel_for(outer, row_grain(len * inner), [&](Index ob, Index oe) {
      std::vector<double> acc(static_cast<size_t>(inner));
      for (Index o = ob; o < oe; ++o) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (Index l = 0; l < len; ++l) {
          const Index base = (o * len + l) * inner;
          for (Index i = 0; i < inner; ++i) acc[i] += v(base + i, i);
        }
        for (Index i = 0; i < inner; ++i) store(o * inner + i, acc[i]);
      }
    });
    return;
  }
  // Few outputs, long axis (e.g. column sums of [N, 3]): fixed chunks of the reduced axis give
  // partial rows, combined in chunk order.
  const Index chunk = std::max<Index>(1, kReduceChunk / std::max<Index>(inner, 1));
  const Index nc = num_chunks(len, chunk);
  std::vector<double> parts(static_cast<size_t>(nc * n_out), 0.0);
  tbb::parallel_for(Index(0), nc * outer, [&](Index task) {
    const Index c = task % nc, o = task / nc;
    const Index lb = c * chunk, le = std::min(len, lb + chunk);
    double* p = parts.data() + c * n_out + o * inner;
    for (Index l = lb; l < le; ++l) {
      const Index base = (o * len + l) * inner;
      for (Index i = 0; i < inner; ++i) p[i] += v(base + i, i);
    }
  });
  for (Index k = 0; k < n_out; ++k) {
    double s = 0.0;
    for (Index c = 0; c < nc; ++c) s += parts[static_cast<size_t>(c * n_out + k)];
    store(k, s);
  }
}

// Column sums of a [rows, cols] array given by v(flat index, column).
template <class V>
void column_sums(Index rows, Index cols, V v, float* out, bool add) {
  sum_middle_axis(1, rows, cols, v, out, add);
}

}  // namespace lagrad::detail
