#pragma once
// Internal helpers shared by the op implementations (not part of the public API): argument
// checks, elementwise maps, gradient accumulation in place, and the grain sizes of the loops.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "../parallel.h"
#include "../tape.h"
#include "../tensor.h"

namespace lagrad::detail {

// Elementwise loops: below this many elements one thread does it all (TBB overhead dominates).
constexpr Index kElementwiseGrain = 1 << 14;
// Fixed chunk length of deterministic reductions: boundaries depend only on the size.
constexpr Index kReduceChunk = 1 << 14;

inline void require_defined(const char* op, const Tensor& t, const char* arg) {
  if (!t.defined()) throw std::invalid_argument(std::string(op) + ": " + arg + " is undefined");
}

inline void require_rank(const char* op, const Tensor& t, const char* arg, int rank) {
  if (t.rank() != rank)
    throw std::invalid_argument(std::string(op) + ": " + arg + " expected rank " + std::to_string(rank) +
                                ", got shape " + shape_str(t.shape()));
}

// Row grain for loops over rows of `cols` elements: about kElementwiseGrain elements per task.
inline Index row_grain(Index cols) { return cols > 0 ? std::max<Index>(1, kElementwiseGrain / cols) : 1; }

// out[i] = f(x[i]).
template <class F>
Tensor map_unary(const Tensor& x, F f) {
  Tensor out(x.shape());
  const float* xs = x.data();
  float* os = out.data();
  parallel_for(x.numel(), kElementwiseGrain, [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) os[i] = f(xs[i]);
  });
  return out;
}

// x.grad[i] += f(i) for every element. The gradient buffer is created (zeros) on first write,
// which equals "set on first write"; writing in place avoids a temporary and its copy.
template <class F>
void add_to_grad(const Tensor& x, F f) {
  float* g = x.mutable_grad().data();
  parallel_for(x.numel(), kElementwiseGrain, [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) g[i] += f(i);
  });
}

// The usual unary backward: x.grad[i] += out.grad[i] * d(x[i], y[i]) with y = out.
template <class D>
void unary_backward(const Tensor& x, const Tensor& out, D d) {
  const float* gy = out.grad().data();
  const float* xs = x.data();
  const float* ys = out.data();
  add_to_grad(x, [&](Index i) { return gy[i] * d(xs[i], ys[i]); });
}

// Records the common elementwise unary op: forward f(x), derivative d(x, y).
template <class F, class D>
Tensor unary_op(const char* op, const Tensor& x, F f, D d) {
  require_defined(op, x, "x");
  Tensor out = map_unary(x, f);
  if (should_record({&x})) {
    record_op(out, {&x}, [x, d](const Tensor& out) { unary_backward(x, out, d); });
  }
  return out;
}

}  // namespace lagrad::detail
