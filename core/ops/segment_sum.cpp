// segment_sum over CSR row splits: out[s] = sum of x[row_splits[s] : row_splits[s+1]].
//
// Each segment is summed serially (in double) by one task, and in the backward each segment
// writes only its own rows, so both passes are deterministic and race-free.
#include <algorithm>
#include <vector>

#include "core/ops.h"
#include "core/ops/op_util.h"

namespace lagrad {

namespace {

void validate_row_splits(const IndexVector& rs, Index num_rows) {
  if (rs.empty()) throw std::invalid_argument("segment_sum: row_splits must have at least 1 entry, got 0");
  if (rs[0] != 0)
    throw std::invalid_argument("segment_sum: row_splits[0] must be 0, got " + std::to_string(rs[0]));
  for (size_t i = 1; i < rs.size(); ++i)
    if (rs[i] < rs[i - 1])
      throw std::invalid_argument("segment_sum: row_splits must be non-decreasing, got row_splits[" +
                                  std::to_string(i) + "] = " + std::to_string(rs[i]) + " < row_splits[" +
                                  std::to_string(i - 1) + "] = " + std::to_string(rs[i - 1]));
  if (rs.back() != num_rows)
    throw std::invalid_argument("segment_sum: row_splits must end at x.dim(0) = " + std::to_string(num_rows) +
                                ", got row_splits[" + std::to_string(rs.size() - 1) + "] = " + std::to_string(rs.back()));
}

}  // namespace

Tensor segment_sum(const Tensor& x, const IndexVector& row_splits) {
  detail::require_defined("segment_sum", x, "x");
  if (x.rank() != 1 && x.rank() != 2)
    throw std::invalid_argument("segment_sum: x expected rank 1 or 2, got shape " + shape_str(x.shape()));
  validate_row_splits(row_splits, x.dim(0));
  const Index num_segments = static_cast<Index>(row_splits.size()) - 1;
  const Index width = x.rank() == 2 ? x.dim(1) : 1;
  Tensor out(x.rank() == 2 ? Shape{num_segments, width} : Shape{num_segments});
  // About kElementwiseGrain input elements per task on average.
  const Index avg_rows = num_segments > 0 ? std::max<Index>(1, x.dim(0) / num_segments) : 1;
  const Index grain = detail::row_grain(avg_rows * width);
  const float* xs = x.data();
  float* o = out.data();
  parallel_for(num_segments, grain, [&](Index b, Index e) {
    std::vector<double> acc(static_cast<size_t>(width));
    for (Index s = b; s < e; ++s) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (Index r = row_splits[s]; r < row_splits[s + 1]; ++r)
        for (Index c = 0; c < width; ++c) acc[c] += xs[r * width + c];
      for (Index c = 0; c < width; ++c) o[s * width + c] = static_cast<float>(acc[c]);
    }
  });
  if (should_record({&x})) {
    record_op(out, {&x}, [x, row_splits, num_segments, width, grain](const Tensor& out) {
      const float* g = out.grad().data();
      float* gx = x.mutable_grad().data();
      parallel_for(num_segments, grain, [&](Index b, Index e) {
        for (Index s = b; s < e; ++s)
          for (Index r = row_splits[s]; r < row_splits[s + 1]; ++r)
            for (Index c = 0; c < width; ++c) gx[r * width + c] += g[s * width + c];
      });
    });
  }
  return out;
}

}  // namespace lagrad
