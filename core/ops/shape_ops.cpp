// Shape ops: reshape, concat, slice_cols, index_select.
#include <algorithm>
#include <cstring>

#include "core/ops.h"
#include "core/ops/op_util.h"

namespace lagrad {

using detail::require_defined;
using detail::require_rank;
using detail::row_grain;

Tensor reshape(const Tensor& x, const Shape& shape) {
  require_defined("reshape", x, "x");
  // One dimension may be -1: it is inferred from the others.
  Shape target = shape;
  int inferred = -1;
  Index known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1 && inferred < 0) {
      inferred = static_cast<int>(i);
    } else if (target[i] < 0) {
      throw std::invalid_argument("reshape: invalid target shape " + shape_str(shape) +
                                  " (dimensions must be >= 0, with at most one -1)");
    } else {
      known *= target[i];
    }
  }
  if (inferred >= 0 && known > 0 && x.numel() % known == 0) target[static_cast<size_t>(inferred)] = x.numel() / known;
  // Order matters: an unresolved -1 fails before shape_numel, which refuses negative dimensions.
  if ((inferred >= 0 && target[static_cast<size_t>(inferred)] < 0) || shape_numel(target) != x.numel())
    throw std::invalid_argument("reshape: cannot reshape " + shape_str(x.shape()) + " (" + std::to_string(x.numel()) +
                                " elements) to " + shape_str(shape));
  // The output shares x's numbers (ops never write into their inputs) but is its own tape node.
  Tensor out = x.view(target);
  if (should_record({&x})) {
    record_op(out, {&x}, [x](const Tensor& out) {
      const float* g = out.grad().data();
      detail::add_to_grad(x, [g](Index i) { return g[i]; });
    });
  }
  return out;
}

Tensor concat(const std::vector<Tensor>& xs, int axis) {
  if (xs.empty()) throw std::invalid_argument("concat: expected at least one tensor, got none");
  if (axis != 0 && axis != 1 && axis != -1 && axis != -2)
    throw std::invalid_argument("concat: axis must be 0 or 1 (rank-2 inputs), got " + std::to_string(axis));
  const int ax = axis < 0 ? axis + 2 : axis;
  const int other = 1 - ax;
  for (size_t i = 0; i < xs.size(); ++i) {
    const std::string arg = "xs[" + std::to_string(i) + "]";
    require_defined("concat", xs[i], arg.c_str());
    require_rank("concat", xs[i], arg.c_str(), 2);
    if (xs[i].dim(other) != xs[0].dim(other))
      throw std::invalid_argument("concat: along axis " + std::to_string(ax) + " all inputs need the same dim(" +
                                  std::to_string(other) + "); xs[0] is " + shape_str(xs[0].shape()) + ", " + arg +
                                  " is " + shape_str(xs[i].shape()));
  }
  // offsets[i]: where input i starts along the concat axis.
  std::vector<Index> offsets(xs.size() + 1, 0);
  for (size_t i = 0; i < xs.size(); ++i) offsets[i + 1] = offsets[i] + xs[i].dim(ax);
  const Index rows = ax == 0 ? offsets.back() : xs[0].dim(0);
  const Index cols = ax == 1 ? offsets.back() : xs[0].dim(1);
  Tensor out({rows, cols});
  float* o = out.data();
  if (ax == 0) {
    // Empty tensors own no storage (data() may be null): memcpy of a null pointer is undefined
    // even for 0 bytes.
    for (size_t i = 0; i < xs.size(); ++i)
      if (xs[i].numel() > 0)
        std::memcpy(o + offsets[i] * cols, xs[i].data(), sizeof(float) * static_cast<size_t>(xs[i].numel()));
  } else {
    parallel_for(rows, row_grain(cols), [&](Index b, Index e) {
      for (Index r = b; r < e; ++r)
        for (size_t i = 0; i < xs.size(); ++i) {
          const Index w = xs[i].dim(1);
          if (w > 0) std::memcpy(o + r * cols + offsets[i], xs[i].data() + r * w, sizeof(float) * static_cast<size_t>(w));
        }
    });
  }
  if (should_record(xs)) {
    record_op(out, xs, [xs, offsets, ax, cols](const Tensor& out) {
      const float* g = out.grad().data();
      for (size_t i = 0; i < xs.size(); ++i) {
        if (!xs[i].requires_grad()) continue;
        const Index off = offsets[i], w = xs[i].dim(1);
        if (ax == 0) {
          const float* src = g + off * cols;
          detail::add_to_grad(xs[i], [src](Index k) { return src[k]; });
        } else {
          float* gx = xs[i].mutable_grad().data();
          parallel_for(xs[i].dim(0), row_grain(w), [&](Index b, Index e) {
            for (Index r = b; r < e; ++r)
              for (Index c = 0; c < w; ++c) gx[r * w + c] += g[r * cols + off + c];
          });
        }
      }
    });
  }
  return out;
}

Tensor slice_cols(const Tensor& x, Index begin, Index end) {
  require_defined("slice_cols", x, "x");
  require_rank("slice_cols", x, "x", 2);
  const Index rows = x.dim(0), cols = x.dim(1);
  if (begin < 0 || begin > end || end > cols)
    throw std::invalid_argument("slice_cols: expected 0 <= begin <= end <= " + std::to_string(cols) + " for x " +
                                shape_str(x.shape()) + ", got begin=" + std::to_string(begin) +
                                ", end=" + std::to_string(end));
  const Index w = end - begin;
  Tensor out({rows, w});
  const float* xs = x.data();
  float* o = out.data();
  parallel_for(rows, row_grain(w), [&](Index b, Index e) {
    for (Index r = b; r < e; ++r)
      if (w > 0) std::memcpy(o + r * w, xs + r * cols + begin, sizeof(float) * static_cast<size_t>(w));
  });
  if (should_record({&x})) {
    record_op(out, {&x}, [x, rows, cols, begin, w](const Tensor& out) {
      const float* g = out.grad().data();
      float* gx = x.mutable_grad().data();
      parallel_for(rows, row_grain(w), [&](Index b, Index e) {
        for (Index r = b; r < e; ++r)
          for (Index c = 0; c < w; ++c) gx[r * cols + begin + c] += g[r * w + c];
      });
    });
  }
  return out;
}

namespace {

// Scatter-add of index_select's backward: gx[rows[k]] += g[k] (rows of `width` floats).
// Deterministic and race-free: each target row receives its contributions in increasing k
// from one thread. Small problems run serially; large ones bucket k by target row (a stable
// counting sort) and run the buckets in parallel; both orders are the same, so the results
// are bitwise equal.
void scatter_add_rows(const IndexVector& rows, Index num_targets, Index width, const float* g, float* gx) {
  const Index n = static_cast<Index>(rows.size());
  if (n * width < (Index(1) << 15)) {
    for (Index k = 0; k < n; ++k) {
      float* dst = gx + rows[k] * width;
      const float* src = g + k * width;
      for (Index c = 0; c < width; ++c) dst[c] += src[c];
    }
    return;
  }
  std::vector<Index> starts(static_cast<size_t>(num_targets + 1), 0);
  for (Index r : rows) ++starts[static_cast<size_t>(r + 1)];
  for (Index t = 0; t < num_targets; ++t) starts[t + 1] += starts[t];
  std::vector<Index> order(static_cast<size_t>(n));
  std::vector<Index> fill(starts.begin(), starts.end() - 1);
  for (Index k = 0; k < n; ++k) order[static_cast<size_t>(fill[rows[k]]++)] = k;
  const Index grain = std::max<Index>(1, num_targets * (Index(1) << 14) / std::max<Index>(1, n * width));
  parallel_for(num_targets, grain, [&](Index b, Index e) {
    for (Index t = b; t < e; ++t) {
      float* dst = gx + t * width;
      for (Index j = starts[t]; j < starts[t + 1]; ++j) {
        const float* src = g + order[j] * width;
        for (Index c = 0; c < width; ++c) dst[c] += src[c];
      }
    }
  });
}

}  // namespace

Tensor index_select(const Tensor& x, const IndexVector& rows) {
  require_defined("index_select", x, "x");
  if (x.rank() != 1 && x.rank() != 2)
    throw std::invalid_argument("index_select: x expected rank 1 or 2, got shape " + shape_str(x.shape()));
  const Index num_rows = x.dim(0);
  const Index width = x.rank() == 2 ? x.dim(1) : 1;
  const Index n = static_cast<Index>(rows.size());
  for (Index k = 0; k < n; ++k)
    if (rows[k] < 0 || rows[k] >= num_rows)
      throw std::invalid_argument("index_select: rows[" + std::to_string(k) + "] = " + std::to_string(rows[k]) +
                                  " out of range [0, " + std::to_string(num_rows) + ") for x " + shape_str(x.shape()));
  Tensor out(x.rank() == 2 ? Shape{n, width} : Shape{n});
  const float* xs = x.data();
  float* o = out.data();
  parallel_for(n, row_grain(width), [&](Index b, Index e) {
    for (Index k = b; k < e; ++k)
      std::memcpy(o + k * width, xs + rows[k] * width, sizeof(float) * static_cast<size_t>(width));
  });
  if (should_record({&x})) {
    record_op(out, {&x}, [x, rows, num_rows, width](const Tensor& out) {
      scatter_add_rows(rows, num_rows, width, out.grad().data(), x.mutable_grad().data());
    });
  }
  return out;
}

}  // namespace lagrad
