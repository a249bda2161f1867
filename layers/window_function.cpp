#include "layers/window_function.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "core/parallel.h"
#include "core/tape.h"

namespace lagrad {

namespace {

constexpr Index kGrain = 1 << 12;

Tensor window_triangle(const Tensor& r) {
  Tensor out(r.shape());
  const float* x = r.data();
  float* y = out.data();
  parallel_for(r.numel(), kGrain, [&](Index b, Index e) {
    for (Index k = b; k < e; ++k) y[k] = std::min(std::max(1.0f - x[k], 0.0f), 1.0f);
  });
  if (should_record({&r})) {
    record_op(out, {&r}, [r](const Tensor& out) {
      const float* x = r.data();
      const float* g = out.grad().data();
      float* d = r.mutable_grad().data();
      parallel_for(r.numel(), kGrain, [&](Index b, Index e) {
        for (Index k = b; k < e; ++k)
          if (x[k] > 0.0f && x[k] < 1.0f) d[k] -= g[k];
      });
    });
  }
  return out;
}

}  // namespace

Tensor window_poly6(const Tensor& r) {
  if (!r.defined()) throw std::invalid_argument("window_poly6: r is undefined");
  Tensor out(r.shape());
  const float* x = r.data();
  float* y = out.data();
  parallel_for(r.numel(), kGrain, [&](Index b, Index e) {
    for (Index k = b; k < e; ++k) {
      const float t = 1.0f - x[k];
      y[k] = std::min(std::max(t * t * t, 0.0f), 1.0f);
    }
  });
  if (should_record({&r})) {
    record_op(out, {&r}, [r](const Tensor& out) {
      const float* x = r.data();
      const float* g = out.grad().data();
      float* d = r.mutable_grad().data();
      parallel_for(r.numel(), kGrain, [&](Index b, Index e) {
        for (Index k = b; k < e; ++k) {
          const float t = 1.0f - x[k];
          const float w = t * t * t;
          if (w > 0.0f && w < 1.0f) d[k] -= 3.0f * t * t * g[k];  // inside the clamp
        }
      });
    });
  }
  return out;
}

bool is_builtin_window(const std::string& name) {
  return name == "poly6" || name == "rectangle" || name == "triangle";
}

WindowFunction builtin_window(const std::string& name) {
  if (name == "poly6") return window_poly6;
  if (name == "triangle") return window_triangle;
  if (name == "rectangle") return [](const Tensor& r) { return Tensor::ones(r.shape()); };
  throw std::invalid_argument("window_function: unknown built-in window '" + name +
                              "' (expected 'poly6', 'rectangle' or 'triangle', or pass a callable)");
}

ExtentLayout extent_layout(const char* op, const Tensor& extents, Index rows, const std::string& rows_name) {
  if (!extents.defined()) throw std::invalid_argument(std::string(op) + ": extents is undefined");
  const Shape& s = extents.shape();
  const int rank = extents.rank();
  if (extents.numel() == 1 && rank <= 2) return {0, 0};
  if ((rank == 1 && s[0] == rows) || (rank == 2 && s[0] == rows && s[1] == 1)) return {1, 0};
  if (rank == 2 && s[0] == rows && s[1] == 3) return {3, 1};
  if (rank == 2 && s[0] == 1 && s[1] == 3) return {0, 1};
  const std::string r = rows_name + "=" + std::to_string(rows);
  throw std::invalid_argument(std::string(op) + ": extents expected a scalar, [1], [" + r + "], [" + r +
                              ", 3] or [1, 3], got " + shape_str(s));
}

Tensor normalized_neighbor_distances(const Tensor& inp_positions, const Tensor& out_positions,
                                     const Tensor& extents, const IndexVector& neighbors_index,
                                     const IndexVector& neighbors_row_splits, Metric metric,
                                     std::shared_ptr<const void> neighbors_owner) {
  const char* op = "normalized_neighbor_distances";
  for (auto [t, name] : {std::pair{&inp_positions, "inp_positions"}, std::pair{&out_positions, "out_positions"}})
    if (!t->defined() || t->rank() != 2 || t->dim(1) != 3)
      throw std::invalid_argument(std::string(op) + ": " + name + " expected [num_points, 3], got " +
                                  (t->defined() ? shape_str(t->shape()) : std::string("undefined")));
  const Index M = out_positions.dim(0), N = inp_positions.dim(0);
  const Index E = static_cast<Index>(neighbors_index.size());
  if (static_cast<Index>(neighbors_row_splits.size()) != M + 1 || neighbors_row_splits[M] != E)
    throw std::invalid_argument(std::string(op) + ": neighbors_row_splits expected [num_out + 1 = " +
                                std::to_string(M + 1) + "] ending at " + std::to_string(E));
  // extents[o * owner_stride + a * axis_stride]
  const ExtentLayout layout = extent_layout(op, extents, M, "num_out");
  const Index owner_stride = layout.owner_stride, axis_stride = layout.axis_stride;
  const bool isotropic = axis_stride == 0;

  const float* xi = inp_positions.data();
  const float* xo = out_positions.data();
  const float* ext = extents.data();
  const Index* rs = neighbors_row_splits.data();
  const Index* idx = neighbors_index.data();
  Tensor out({E});
  float* r = out.data();
  parallel_for(M, 64, [&](Index j0, Index j1) {
    for (Index j = j0; j < j1; ++j) {
      float R[3];
      for (int a = 0; a < 3; ++a) R[a] = 0.5f * ext[j * owner_stride + a * axis_stride];
      for (Index e = rs[j]; e < rs[j + 1]; ++e) {
        const Index i = idx[e];
        float d[3];
        for (int a = 0; a < 3; ++a) d[a] = xi[3 * i + a] - xo[3 * j + a];
        float v = 0.0f;
        if (metric == Metric::L2) {
          if (isotropic) {
            v = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]) / (R[0] * R[0]);
          } else {
            for (int a = 0; a < 3; ++a) v += (d[a] / R[a]) * (d[a] / R[a]);
          }
        } else if (metric == Metric::L1) {
          if (isotropic) {
            v = (std::fabs(d[0]) + std::fabs(d[1]) + std::fabs(d[2])) / R[0];
          } else {
            for (int a = 0; a < 3; ++a) v += std::fabs(d[a]) / R[a];
          }
        } else {
          for (int a = 0; a < 3; ++a) v = std::max(v, std::fabs(d[a]) / R[a]);
        }
        r[e] = v;
      }
    }
  });

  if (should_record({&inp_positions, &out_positions, &extents})) {
    // The index arrays for the backward: kept alive by their owner, or copied.
    std::shared_ptr<const IndexVector> index, splits;
    if (neighbors_owner) {
      index = std::shared_ptr<const IndexVector>(neighbors_owner, &neighbors_index);
      splits = std::shared_ptr<const IndexVector>(neighbors_owner, &neighbors_row_splits);
    } else {
      index = std::make_shared<const IndexVector>(neighbors_index);
      splits = std::make_shared<const IndexVector>(neighbors_row_splits);
    }
    record_op(out, {&inp_positions, &out_positions, &extents}, [=](const Tensor& out) {
      const float* g = out.grad().data();
      const Index* rs = splits->data();
      const Index* idx = index->data();
      // Per entry: d(value)/d(d_a) * g and d(value)/d(R_a) * g.
      std::vector<float> gd(static_cast<size_t>(3 * E)), gr(static_cast<size_t>(3 * E));
      parallel_for(M, 64, [&](Index j0, Index j1) {
        for (Index j = j0; j < j1; ++j) {
          float R[3];
          for (int a = 0; a < 3; ++a) R[a] = 0.5f * ext[j * owner_stride + a * axis_stride];
          for (Index e = rs[j]; e < rs[j + 1]; ++e) {
            const Index i = idx[e];
            float d[3];
            for (int a = 0; a < 3; ++a) d[a] = xi[3 * i + a] - xo[3 * j + a];
            float* pd = &gd[3 * e];
            float* pr = &gr[3 * e];
            for (int a = 0; a < 3; ++a) pd[a] = pr[a] = 0.0f;
            if (metric == Metric::L2) {
              for (int a = 0; a < 3; ++a) {
                pd[a] = g[e] * 2.0f * d[a] / (R[a] * R[a]);
                pr[a] = -g[e] * 2.0f * d[a] * d[a] / (R[a] * R[a] * R[a]);
              }
            } else if (metric == Metric::L1) {
              for (int a = 0; a < 3; ++a) {
                const float s = d[a] > 0.0f ? 1.0f : (d[a] < 0.0f ? -1.0f : 0.0f);
                pd[a] = g[e] * s / R[a];
                pr[a] = -g[e] * std::fabs(d[a]) / (R[a] * R[a]);
              }
            } else {
              int am = 0;
              for (int a = 1; a < 3; ++a)
                if (std::fabs(d[a]) / R[a] > std::fabs(d[am]) / R[am]) am = a;
              const float s = d[am] > 0.0f ? 1.0f : (d[am] < 0.0f ? -1.0f : 0.0f);
              pd[am] = g[e] * s / R[am];
              pr[am] = -g[e] * std::fabs(d[am]) / (R[am] * R[am]);
            }
          }
        }
      });
      if (out_positions.requires_grad()) {
        float* dx = out_positions.mutable_grad().data();
        parallel_for(M, 256, [&](Index j0, Index j1) {
          for (Index j = j0; j < j1; ++j)
            for (Index e = rs[j]; e < rs[j + 1]; ++e)
              for (int a = 0; a < 3; ++a) dx[3 * j + a] -= gd[3 * e + a];
        });
      }
      if (inp_positions.requires_grad()) {
        const InvertedNeighborList inv = invert_neighbor_list(*index, *splits, N);
        float* dx = inp_positions.mutable_grad().data();
        parallel_for(N, 256, [&](Index i0, Index i1) {
          for (Index i = i0; i < i1; ++i)
            for (Index k = inv.row_splits[i]; k < inv.row_splits[i + 1]; ++k)
              for (int a = 0; a < 3; ++a) dx[3 * i + a] += gd[3 * inv.entry_index[k] + a];
        });
      }
      if (extents.requires_grad()) {
        // dR/dextent = 1/2; rows summed in order, then folded into the extents' layout.
        float* dx = extents.mutable_grad().data();
        for (Index j = 0; j < M; ++j) {
          float acc[3] = {0.0f, 0.0f, 0.0f};
          for (Index e = rs[j]; e < rs[j + 1]; ++e)
            for (int a = 0; a < 3; ++a) acc[a] += gr[3 * e + a];
          for (int a = 0; a < 3; ++a) dx[j * owner_stride + a * axis_stride] += 0.5f * acc[a];
        }
      }
    });
  }
  return out;
}

}  // namespace lagrad
