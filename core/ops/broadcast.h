#pragma once
// Broadcasting for the binary elementwise ops (internal).
//
// Supported pairs: equal shapes; one side with a single element (rank 0, [1], [1, 1], ...);
// a = [N, C] with b = [C] or the reverse (the vector is applied to every row). The output has
// the shape of the larger side. Gradients of a broadcast input are reduced over the broadcast
// dimension with the deterministic kernels of reduce_kernels.h.
#include <string>

#include "reduce_kernels.h"

namespace lagrad::detail {

enum class Broadcast {
  kSame,     // a and b have the out shape
  kScalarA,  // a has one element
  kScalarB,  // b has one element
  kRowA,     // a = [C], b = [N, C]
  kRowB,     // a = [N, C], b = [C]
};

struct BroadcastPlan {
  Broadcast kind = Broadcast::kSame;
  Shape out_shape;
  Index rows = 0;  // for the row kinds: N
  Index cols = 0;  // for the row kinds: C
};

inline BroadcastPlan plan_broadcast(const char* op, const Tensor& a, const Tensor& b) {
  require_defined(op, a, "a");
  require_defined(op, b, "b");
  BroadcastPlan p;
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  if (sa == sb) {
    p.kind = Broadcast::kSame;
    p.out_shape = sa;
  } else if (b.numel() == 1) {
    p.kind = Broadcast::kScalarB;
    p.out_shape = sa;
  } else if (a.numel() == 1) {
    p.kind = Broadcast::kScalarA;
    p.out_shape = sb;
  } else if (sa.size() == 2 && sb.size() == 1 && sa[1] == sb[0]) {
    p.kind = Broadcast::kRowB;
    p.out_shape = sa;
    p.rows = sa[0];
    p.cols = sa[1];
  } else if (sa.size() == 1 && sb.size() == 2 && sb[1] == sa[0]) {
    p.kind = Broadcast::kRowA;
    p.out_shape = sb;
    p.rows = sb[0];
    p.cols = sb[1];
  } else {
    throw std::invalid_argument(std::string(op) + ": cannot broadcast " + shape_str(sa) + " with " + shape_str(sb) +
                                " (supported: equal shapes, a one-element side, [N, C] with [C])");
  }
  return p;
}

// out[k] = f(a[ia(k)], b[ib(k)]) over the broadcast output.
template <class F>
void broadcast_apply(const BroadcastPlan& p, const float* a, const float* b, float* out, F f) {
  const Index n = shape_numel(p.out_shape);
  switch (p.kind) {
    case Broadcast::kSame:
      parallel_for(n, kElementwiseGrain, [&](Index s, Index e) {
        for (Index i = s; i < e; ++i) out[i] = f(a[i], b[i]);
      });
      break;
    case Broadcast::kScalarA: {
      const float av = a[0];
      parallel_for(n, kElementwiseGrain, [&](Index s, Index e) {
        for (Index i = s; i < e; ++i) out[i] = f(av, b[i]);
      });
      break;
    }
    case Broadcast::kScalarB: {
      const float bv = b[0];
      parallel_for(n, kElementwiseGrain, [&](Index s, Index e) {
        for (Index i = s; i < e; ++i) out[i] = f(a[i], bv);
      });
      break;
    }
    case Broadcast::kRowA:
    case Broadcast::kRowB: {
      const Index C = p.cols;
      const bool row_a = p.kind == Broadcast::kRowA;
      parallel_for(p.rows, row_grain(C), [&](Index s, Index e) {
        for (Index r = s; r < e; ++r) {
          const Index base = r * C;
          if (row_a)
            for (Index c = 0; c < C; ++c) out[base + c] = f(a[c], b[base + c]);
          else
            for (Index c = 0; c < C; ++c) out[base + c] = f(a[base + c], b[c]);
        }
      });
      break;
    }
  }
}

// Adds the gradient contribution v(k, c) to the gradient of the input `side` (0 = a, 1 = b),
// reducing over the broadcast dimension when that input was broadcast. k is the flat output
// index; c is its column (k % cols) for the row kinds, so that v can index a row-broadcast
// operand without a division, and k otherwise.
template <class V>
void broadcast_accumulate(const BroadcastPlan& p, int side, const Tensor& input, V v) {
  const Index n = shape_numel(p.out_shape);
  const bool row_kind = p.kind == Broadcast::kRowA || p.kind == Broadcast::kRowB;
  const bool is_scalar = (side == 0 && p.kind == Broadcast::kScalarA) || (side == 1 && p.kind == Broadcast::kScalarB);
  const bool is_row = (side == 0 && p.kind == Broadcast::kRowA) || (side == 1 && p.kind == Broadcast::kRowB);
  if (is_scalar) {
    float* g = input.mutable_grad().data();
    g[0] += static_cast<float>(sum_all(n, [&](Index k) { return v(k, k); }));
  } else if (is_row) {
    column_sums(p.rows, p.cols, v, input.mutable_grad().data(), /*add=*/true);
  } else if (row_kind) {
    float* g = input.mutable_grad().data();
    const Index C = p.cols;
    parallel_for(p.rows, row_grain(C), [&](Index s, Index e) {
      for (Index r = s; r < e; ++r)
        for (Index c = 0; c < C; ++c) g[r * C + c] += v(r * C + c, c);
    });
  } else {
    add_to_grad(input, [&](Index k) { return v(k, k); });
  }
}

}  // namespace lagrad::detail
