// Reductions: sum and mean, over everything or one axis. The forward sums use the
// deterministic kernels (fixed chunks, double partials, chunk-order combination); the backward
// passes only broadcast, so they are deterministic too.
#include "core/ops.h"
#include "core/ops/reduce_kernels.h"

namespace lagrad {

using detail::require_defined;

namespace {

// x viewed as [outer, len, inner] around `axis`.
struct AxisSplit {
  int axis = 0;
  Index outer = 1, len = 1, inner = 1;
  Shape out_shape;
};

AxisSplit split_axis(const char* op, const Tensor& x, int axis) {
  const int r = x.rank();
  const int a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r)
    throw std::invalid_argument(std::string(op) + ": axis " + std::to_string(axis) + " out of range for shape " +
                                shape_str(x.shape()));
  AxisSplit s;
  s.axis = a;
  for (int i = 0; i < r; ++i) {
    if (i < a) s.outer *= x.shape()[i];
    if (i == a) s.len = x.shape()[i];
    if (i > a) s.inner *= x.shape()[i];
    if (i != a) s.out_shape.push_back(x.shape()[i]);
  }
  return s;
}

// Sum of everything times `scale`, with the backward broadcasting scale * g.
Tensor scaled_sum_all(const char* op, const Tensor& x, double scale) {
  require_defined(op, x, "x");
  const float* xs = x.data();
  const double s = detail::sum_all(x.numel(), [xs](Index i) { return static_cast<double>(xs[i]); });
  Tensor out = Tensor::scalar(static_cast<float>(s * scale));
  if (should_record({&x})) {
    record_op(out, {&x}, [x, scale](const Tensor& out) {
      const float g = static_cast<float>(out.grad().item() * scale);
      detail::add_to_grad(x, [g](Index) { return g; });
    });
  }
  return out;
}

Tensor scaled_sum_axis(const char* op, const Tensor& x, int axis, bool average) {
  require_defined(op, x, "x");
  const AxisSplit s = split_axis(op, x, axis);
  // mean over an empty axis is 0/0 = NaN, as in the maths.
  const double scale = average ? 1.0 / static_cast<double>(s.len) : 1.0;
  Tensor out(s.out_shape);
  const float* xs = x.data();
  detail::sum_middle_axis(
      s.outer, s.len, s.inner, [xs, scale](Index k, Index) { return static_cast<double>(xs[k]) * scale; }, out.data(),
      /*add=*/false);
  if (should_record({&x})) {
    record_op(out, {&x}, [x, s, scale](const Tensor& out) {
      const float* g = out.grad().data();
      const float f = static_cast<float>(scale);
      float* gx = x.mutable_grad().data();
      const Index len = s.len, inner = s.inner;
      parallel_for(s.outer, detail::row_grain(len * inner), [&](Index b, Index e) {
        for (Index o = b; o < e; ++o) {
          const float* go = g + o * inner;
          for (Index l = 0; l < len; ++l) {
            float* dst = gx + (o * len + l) * inner;
            for (Index i = 0; i < inner; ++i) dst[i] += go[i] * f;
          }
        }
      });
    });
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x) { return scaled_sum_all("sum", x, 1.0); }

Tensor mean(const Tensor& x) {
  require_defined("mean", x, "x");
  return scaled_sum_all("mean", x, 1.0 / static_cast<double>(x.numel()));
}

Tensor sum(const Tensor& x, int axis) { return scaled_sum_axis("sum", x, axis, false); }
Tensor mean(const Tensor& x, int axis) { return scaled_sum_axis("mean", x, axis, true); }

}  // namespace lagrad
