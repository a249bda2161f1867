#include "layers/losses.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/parallel.h"
#include "core/tape.h"

namespace lagrad {

namespace {

// Fixed chunk of the forward reductions (bitwise independent of the thread count) and grain
// of the backward loops.
constexpr Index kChunk = 1 << 14;

void check_pair(const char* op, const Tensor& pred, const Tensor& target) {
  if (!pred.defined()) throw std::invalid_argument(std::string(op) + ": pred is undefined");
  if (!target.defined()) throw std::invalid_argument(std::string(op) + ": target is undefined");
  if (pred.shape() != target.shape())
    throw std::invalid_argument(std::string(op) + ": target expected the shape of pred " + shape_str(pred.shape()) +
                                ", got " + shape_str(target.shape()));
  if (pred.numel() == 0) throw std::invalid_argument(std::string(op) + ": pred is empty, shape " + shape_str(pred.shape()));
}

// pred.grad[i] += c * df(d_i), target.grad[i] -= c * df(d_i), d = pred - target.
template <class DF>
void pointwise_backward(const Tensor& pred, const Tensor& target, float c, DF df) {
  const float* p = pred.data();
  const float* t = target.data();
  float* gp = pred.requires_grad() ? pred.mutable_grad().data() : nullptr;
  float* gt = target.requires_grad() ? target.mutable_grad().data() : nullptr;
  parallel_for(pred.numel(), kChunk, [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) {
      const float g = c * df(p[i] - t[i]);
      if (gp) gp[i] += g;
      if (gt) gt[i] -= g;
    }
  });
}

// A loss that is a sum or mean of f(pred - target) over the elements, with derivative df.
template <class F, class DF>
Tensor pointwise_loss(const char* op, const Tensor& pred, const Tensor& target, Reduction reduction, F f, DF df) {
  check_pair(op, pred, target);
  const Index n = pred.numel();
  const float* p = pred.data();
  const float* t = target.data();
  const double total = deterministic_reduce(
      n, kChunk, 0.0,
      [&](Index, Index b, Index e) {
        double s = 0.0;
        for (Index i = b; i < e; ++i) s += f(static_cast<double>(p[i] - t[i]));
        return s;
      },
      [](double a, double b) { return a + b; });
  const double scale = reduction == Reduction::Mean ? 1.0 / static_cast<double>(n) : 1.0;
  Tensor out = Tensor::scalar(static_cast<float>(total * scale));
  if (should_record({&pred, &target})) {
    record_op(out, {&pred, &target}, [pred, target, scale, df](const Tensor& out) {
      pointwise_backward(pred, target, static_cast<float>(out.grad().item() * scale), df);
    });
  }
  return out;
}

}  // namespace

Tensor mse_loss(const Tensor& pred, const Tensor& target, Reduction reduction) {
  return pointwise_loss(
      "mse_loss", pred, target, reduction, [](double d) { return d * d; }, [](float d) { return 2.0f * d; });
}

Tensor l1_loss(const Tensor& pred, const Tensor& target, Reduction reduction) {
  return pointwise_loss(
      "l1_loss", pred, target, reduction, [](double d) { return std::fabs(d); },
      [](float d) { return d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : 0.0f); });
}

Tensor huber_loss(const Tensor& pred, const Tensor& target, float delta, Reduction reduction) {
  if (!(delta > 0.0f) || !std::isfinite(delta))
    throw std::invalid_argument("huber_loss: delta must be finite and > 0, got " + std::to_string(delta));
  const double dd = delta;
  return pointwise_loss(
      "huber_loss", pred, target, reduction,
      [dd](double d) {
        const double a = std::fabs(d);
        return a <= dd ? 0.5 * d * d : dd * (a - 0.5 * dd);
      },
      [delta](float d) { return std::clamp(d, -delta, delta); });
}

Tensor weighted_distance_loss(const Tensor& pred, const Tensor& target, const Tensor& num_neighbors,
                              const WeightedDistanceLossOptions& options) {
  const char* op = "weighted_distance_loss";
  check_pair(op, pred, target);
  if (pred.rank() != 2)
    throw std::invalid_argument(std::string(op) + ": pred expected [N, D], got " + shape_str(pred.shape()));
  const Index N = pred.dim(0), D = pred.dim(1);
  if (!num_neighbors.defined() || num_neighbors.shape() != Shape{N})
    throw std::invalid_argument(std::string(op) + ": num_neighbors expected [N=" + std::to_string(N) + "], got " +
                                (num_neighbors.defined() ? shape_str(num_neighbors.shape()) : "undefined"));
  const double gamma = options.gamma(), nscale = options.neighbor_scale();
  if (!(gamma > 0.0) || !std::isfinite(gamma))
    throw std::invalid_argument(std::string(op) + ": gamma must be finite and > 0, got " + std::to_string(gamma));
  if (!(nscale > 0.0) || !std::isfinite(nscale))
    throw std::invalid_argument(std::string(op) + ": neighbor_scale must be finite and > 0, got " +
                                std::to_string(nscale));
  constexpr double kEps = 1e-9;  // keeps the power differentiable at zero distance

  const float* p = pred.data();
  const float* t = target.data();
  const float* nn = num_neighbors.data();
  // Squared distance (plus eps) of particle i, in double.
  auto sq_dist = [p, t, D](Index i) {
    double s = kEps;
    for (Index d = 0; d < D; ++d) {
      const double diff = static_cast<double>(p[i * D + d]) - t[i * D + d];
      s += diff * diff;
    }
    return s;
  };
  const Index grain = std::max<Index>(1, kChunk / std::max<Index>(D, 1));
  const double total = deterministic_reduce(
      N, grain, 0.0,
      [&](Index, Index b, Index e) {
        double s = 0.0;
        for (Index i = b; i < e; ++i) s += std::exp(-nn[i] / nscale) * std::pow(sq_dist(i), 0.5 * gamma);
        return s;
      },
      [](double a, double b) { return a + b; });
  Tensor out = Tensor::scalar(static_cast<float>(total / static_cast<double>(N)));

  if (should_record({&pred, &target})) {
    record_op(out, {&pred, &target}, [pred, target, num_neighbors, N, D, gamma, nscale, grain, sq_dist](const Tensor& out) {
      const double c = static_cast<double>(out.grad().item()) / static_cast<double>(N);
      const float* nn = num_neighbors.data();
      const float* p = pred.data();
      const float* t = target.data();
      float* gp = pred.requires_grad() ? pred.mutable_grad().data() : nullptr;
      float* gt = target.requires_grad() ? target.mutable_grad().data() : nullptr;
      parallel_for(N, grain, [&](Index b, Index e) {
        for (Index i = b; i < e; ++i) {
          // d/dp_i of w_i s_i^(gamma/2) = w_i gamma s_i^(gamma/2 - 1) (p_i - t_i).
          const float k =
              static_cast<float>(c * std::exp(-nn[i] / nscale) * gamma * std::pow(sq_dist(i), 0.5 * gamma - 1.0));
          for (Index d = 0; d < D; ++d) {
            const float g = k * (p[i * D + d] - t[i * D + d]);
            if (gp) gp[i * D + d] += g;
            if (gt) gt[i * D + d] -= g;
          }
        }
      });
    });
  }
  return out;
}

}  // namespace lagrad
