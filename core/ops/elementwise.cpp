// Elementwise ops: binary with broadcasting, with a constant, and unary maths.
#include <cmath>

#include "core/ops.h"
#include "core/ops/broadcast.h"

namespace lagrad {

using detail::BroadcastPlan;
using detail::broadcast_accumulate;
using detail::broadcast_apply;
using detail::plan_broadcast;
using detail::unary_op;

namespace {
// The input itself when it needs a gradient, else an undefined handle (not kept alive).
Tensor grad_target(const Tensor& t) { return t.requires_grad() ? t : Tensor(); }
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  const BroadcastPlan p = plan_broadcast("add", a, b);
  Tensor out(p.out_shape);
  broadcast_apply(p, a.data(), b.data(), out.data(), [](float x, float y) { return x + y; });
  if (should_record({&a, &b})) {
    // Only the inputs that need a gradient are kept alive (their values are not needed).
    record_op(out, {&a, &b}, [ga = grad_target(a), gb = grad_target(b), p](const Tensor& out) {
      const float* g = out.grad().data();
      auto v = [g](Index k, Index) { return g[k]; };
      if (ga.defined()) broadcast_accumulate(p, 0, ga, v);
      if (gb.defined()) broadcast_accumulate(p, 1, gb, v);
    });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  const BroadcastPlan p = plan_broadcast("sub", a, b);
  Tensor out(p.out_shape);
  broadcast_apply(p, a.data(), b.data(), out.data(), [](float x, float y) { return x - y; });
  if (should_record({&a, &b})) {
    record_op(out, {&a, &b}, [ga = grad_target(a), gb = grad_target(b), p](const Tensor& out) {
      const float* g = out.grad().data();
      if (ga.defined()) broadcast_accumulate(p, 0, ga, [g](Index k, Index) { return g[k]; });
      if (gb.defined()) broadcast_accumulate(p, 1, gb, [g](Index k, Index) { return -g[k]; });
    });
  }
  return out;
}

// The value of one operand at output element (k, c) of a broadcast (c as in
// broadcast_accumulate), for the gradients that need the other operand.
namespace {
struct OperandAt {
  const float* data;
  bool scalar, row;
  OperandAt(const BroadcastPlan& p, const float* d, int side) : data(d) {
    using detail::Broadcast;
    scalar = (side == 0 && p.kind == Broadcast::kScalarA) || (side == 1 && p.kind == Broadcast::kScalarB);
    row = (side == 0 && p.kind == Broadcast::kRowA) || (side == 1 && p.kind == Broadcast::kRowB);
  }
  float operator()(Index k, Index c) const { return scalar ? data[0] : (row ? data[c] : data[k]); }
};
}  // namespace

Tensor mul(const Tensor& a, const Tensor& b) {
  const BroadcastPlan p = plan_broadcast("mul", a, b);
  Tensor out(p.out_shape);
  broadcast_apply(p, a.data(), b.data(), out.data(), [](float x, float y) { return x * y; });
  if (should_record({&a, &b})) {
    record_op(out, {&a, &b}, [a, b, p](const Tensor& out) {
      const float* g = out.grad().data();
      const OperandAt av(p, a.data(), 0), bv(p, b.data(), 1);
      if (a.requires_grad()) broadcast_accumulate(p, 0, a, [&](Index k, Index c) { return g[k] * bv(k, c); });
      if (b.requires_grad()) broadcast_accumulate(p, 1, b, [&](Index k, Index c) { return g[k] * av(k, c); });
    });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  const BroadcastPlan p = plan_broadcast("div", a, b);
  Tensor out(p.out_shape);
  broadcast_apply(p, a.data(), b.data(), out.data(), [](float x, float y) { return x / y; });
  if (should_record({&a, &b})) {
    record_op(out, {&a, &b}, [a, b, p](const Tensor& out) {
      const float* g = out.grad().data();
      const float* y = out.data();
      const OperandAt bv(p, b.data(), 1);
      // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -out/b.
      if (a.requires_grad()) broadcast_accumulate(p, 0, a, [&](Index k, Index c) { return g[k] / bv(k, c); });
      if (b.requires_grad()) broadcast_accumulate(p, 1, b, [&](Index k, Index c) { return -g[k] * y[k] / bv(k, c); });
    });
  }
  return out;
}

Tensor add(const Tensor& a, float b) {
  return unary_op(
      "add", a, [b](float x) { return x + b; }, [](float, float) { return 1.0f; });
}

Tensor mul(const Tensor& a, float b) {
  return unary_op(
      "mul", a, [b](float x) { return x * b; }, [b](float, float) { return b; });
}

Tensor neg(const Tensor& x) {
  return unary_op(
      "neg", x, [](float v) { return -v; }, [](float, float) { return -1.0f; });
}

Tensor exp(const Tensor& x) {
  return unary_op(
      "exp", x, [](float v) { return std::exp(v); }, [](float, float y) { return y; });
}

Tensor log(const Tensor& x) {
  return unary_op(
      "log", x, [](float v) { return std::log(v); }, [](float v, float) { return 1.0f / v; });
}

Tensor sqrt(const Tensor& x) {
  return unary_op(
      "sqrt", x, [](float v) { return std::sqrt(v); }, [](float, float y) { return 0.5f / y; });
}

Tensor pow(const Tensor& x, float exponent) {
  const float p = exponent;
  // p = 0: the result is constant 1, so the gradient is 0 everywhere (also at x = 0, where
  // p * x^(p-1) would give 0 * inf).
  return unary_op(
      "pow", x, [p](float v) { return std::pow(v, p); },
      [p](float v, float) { return p == 0.0f ? 0.0f : p * std::pow(v, p - 1.0f); });
}

// Kinks follow PyTorch: d|x|/dx = sign(x) with sign(0) = 0.
Tensor abs(const Tensor& x) {
  return unary_op(
      "abs", x, [](float v) { return std::fabs(v); },
      [](float v, float) { return v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f); });
}

// Gradient 1 on the closed interval [lo, hi] (boundaries included, as PyTorch), 0 outside.
Tensor clamp(const Tensor& x, float lo, float hi) {
  if (!(lo <= hi))
    throw std::invalid_argument("clamp: expected lo <= hi, got lo=" + std::to_string(lo) +
                                ", hi=" + std::to_string(hi));
  return unary_op(
      "clamp", x, [lo, hi](float v) { return v < lo ? lo : (v > hi ? hi : v); },
      [lo, hi](float v, float) { return (v >= lo && v <= hi) ? 1.0f : 0.0f; });
}

Tensor square(const Tensor& x) {
  return unary_op(
      "square", x, [](float v) { return v * v; }, [](float v, float) { return 2.0f * v; });
}

}  // namespace lagrad
