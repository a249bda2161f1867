// continuous_conv and continuous_conv_transpose: validation, the edge scales, the kernel calls
// and the recorded backward (kernels in layers/kernels/cconv_*.h).
#include "layers/continuous_conv_op.h"

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "core/parallel.h"
#include "core/tape.h"
#include "layers/kernels/cconv_kernels.h"

namespace lagrad {

namespace {

using kernels::CConvEdges;
using kernels::CConvGeometry;

std::string num(Index v) { return std::to_string(v); }

[[noreturn]] void fail(const char* op, const std::string& msg) {
  throw std::invalid_argument(std::string(op) + ": " + msg);
}

// How the extents tensor is addressed: extents[o * owner_stride + a * axis_stride].
struct ExtentsLayout {
  Index owner_stride = 0;
  Index axis_stride = 0;
};

struct Problem {
  Index M = 0, N = 0, E = 0, cin = 0, cout = 0;
  CConvGeometry geom;
  ExtentsLayout ext;
};

void check_positions(const char* op, const Tensor& t, const char* name, const char* count_name) {
  if (!t.defined()) fail(op, std::string(name) + " is undefined");
  if (t.rank() != 2 || t.dim(1) != 3)
    fail(op, std::string(name) + " expected [" + count_name + ", 3], got " + shape_str(t.shape()));
  const float* p = t.data();
  for (Index k = 0; k < t.numel(); ++k)
    if (!std::isfinite(p[k])) {
      std::ostringstream s;
      s << name << " has a non-finite value (" << p[k] << ") at [" << k / 3 << ", " << k % 3 << "]";
      fail(op, s.str());
    }
}

ExtentsLayout check_extents(const char* op, const Tensor& t, Index M) {
  if (!t.defined()) fail(op, "extents is undefined");
  const Shape& s = t.shape();
  ExtentsLayout L;
  if (t.numel() == 1 && t.rank() <= 2) {
    L = {0, 0};
  } else if ((t.rank() == 1 && s[0] == M) || (t.rank() == 2 && s[0] == M && s[1] == 1)) {
    L = {1, 0};
  } else if (t.rank() == 2 && s[0] == M && s[1] == 3) {
    L = {3, 1};
  } else if (t.rank() == 2 && s[0] == 1 && s[1] == 3) {
    L = {0, 1};
  } else {
    fail(op, "extents expected a scalar, [1], [num_out=" + num(M) + "], [num_out=" + num(M) + ", 3] or [1, 3], got " +
                 shape_str(s));
  }
  const float* e = t.data();
  for (Index k = 0; k < t.numel(); ++k)
    if (!(e[k] > 0.0f) || !std::isfinite(e[k])) {
      std::ostringstream m;
      m << "extents must be positive and finite, got " << e[k] << " at flat index " << k;
      fail(op, m.str());
    }
  return L;
}

// Validates everything; `transpose`: features at the out_positions ([M, in]).
Problem validate(const char* op, const CConvInputs& in, const CConvOpOptions& options, bool transpose) {
  Problem P;
  if (!in.filters.defined()) fail(op, "filters is undefined");
  if (in.filters.rank() != 5)
    fail(op, "filters expected [kd, kh, kw, in_channels, out_channels], got " + shape_str(in.filters.shape()));
  for (int a = 0; a < 5; ++a)
    if (in.filters.dim(a) <= 0) fail(op, "filters has an empty dimension: " + shape_str(in.filters.shape()));
  P.cin = in.filters.dim(3);
  P.cout = in.filters.dim(4);
  check_positions(op, in.out_positions, "out_positions", "num_out");
  check_positions(op, in.inp_positions, "inp_positions", "num_inp");
  P.M = in.out_positions.dim(0);
  P.N = in.inp_positions.dim(0);

  if (!in.inp_features.defined()) fail(op, "inp_features is undefined");
  const Index feat_rows = transpose ? P.M : P.N;
  if (in.inp_features.rank() != 2 || in.inp_features.dim(0) != feat_rows || in.inp_features.dim(1) != P.cin)
    fail(op, std::string("inp_features expected [") + (transpose ? "num_out=" : "num_inp=") + num(feat_rows) +
                 ", in_channels=" + num(P.cin) + "], got " + shape_str(in.inp_features.shape()));

  P.ext = check_extents(op, in.extents, P.M);
  if (in.offset.defined()) {
    if (in.offset.shape() != Shape{3}) fail(op, "offset expected [3], got " + shape_str(in.offset.shape()));
    for (int a = 0; a < 3; ++a)
      if (!std::isfinite(in.offset.data()[a])) fail(op, "offset has a non-finite value");
  }
  if (in.inp_importance.defined() && in.inp_importance.shape() != Shape{P.N})
    fail(op, "inp_importance expected [num_inp=" + num(P.N) + "], got " + shape_str(in.inp_importance.shape()));

  if (!in.neighbors_index) fail(op, "neighbors_index is null");
  if (!in.neighbors_row_splits) fail(op, "neighbors_row_splits is null");
  const IndexVector& rs = *in.neighbors_row_splits;
  const IndexVector& idx = *in.neighbors_index;
  P.E = static_cast<Index>(idx.size());
  if (static_cast<Index>(rs.size()) != P.M + 1)
    fail(op, "neighbors_row_splits expected [num_out + 1 = " + num(P.M + 1) + "], got [" + num(rs.size()) + "]");
  if (rs[0] != 0) fail(op, "neighbors_row_splits[0] must be 0, got " + num(rs[0]));
  for (Index j = 0; j < P.M; ++j)
    if (rs[j + 1] < rs[j])
      fail(op, "neighbors_row_splits must be non-decreasing, got " + num(rs[j]) + " then " + num(rs[j + 1]) +
                   " at index " + num(j));
  if (rs[P.M] != P.E)
    fail(op, "neighbors_row_splits ends at " + num(rs[P.M]) + " but neighbors_index has " + num(P.E) + " entries");
  for (Index e = 0; e < P.E; ++e)
    if (idx[e] < 0 || idx[e] >= P.N)
      fail(op, "neighbors_index[" + num(e) + "] = " + num(idx[e]) + " out of range [0, num_inp=" + num(P.N) + ")");
  if (in.neighbors_importance.defined() && in.neighbors_importance.shape() != Shape{P.E})
    fail(op, "neighbors_importance expected [num_neighbors=" + num(P.E) + "], got " +
                 shape_str(in.neighbors_importance.shape()));

  P.geom.mapping = options.coordinate_mapping;
  P.geom.interpolation = options.interpolation;
  P.geom.align_corners = options.align_corners;
  P.geom.k[0] = static_cast<int>(in.filters.dim(2));
  P.geom.k[1] = static_cast<int>(in.filters.dim(1));
  P.geom.k[2] = static_cast<int>(in.filters.dim(0));
  for (int a = 0; a < 3; ++a) P.geom.offset[a] = in.offset.defined() ? in.offset.data()[a] : 0.0f;
  return P;
}

// The neighbor arrays for the backward: borrowed (kept alive by the owner) or copied.
struct NeighborArrays {
  std::shared_ptr<const void> owner;
  IndexVector index_copy, splits_copy;
  const IndexVector* index = nullptr;
  const IndexVector* splits = nullptr;
};

std::shared_ptr<NeighborArrays> hold_neighbors(const CConvInputs& in) {
  auto h = std::make_shared<NeighborArrays>();
  if (in.neighbors_owner) {
    h->owner = in.neighbors_owner;
    h->index = in.neighbors_index;
    h->splits = in.neighbors_row_splits;
  } else {
    h->index_copy = *in.neighbors_index;
    h->splits_copy = *in.neighbors_row_splits;
    h->index = &h->index_copy;
    h->splits = &h->splits_copy;
  }
  return h;
}

// Per-row 1/psi_j and per-entry scale s_e = a_e * imp_i / psi_j (list order).
struct Scales {
  std::vector<float> inv_psi;  // [M] (1 where psi_j = 0 or without normalization)
  std::vector<char> divided;   // [M] whether row j was divided by a nonzero psi_j
  std::vector<float> s;        // [E]
  bool psi_from_importance = false;  // psi_j = sum of a_e (gradient flows into a)
};

Scales edge_scales(const Problem& P, const CConvInputs& in, const CConvOpOptions& options) {
  Scales S;
  S.inv_psi.assign(static_cast<size_t>(P.M), 1.0f);
  S.divided.assign(static_cast<size_t>(P.M), 0);
  S.s.resize(static_cast<size_t>(P.E));
  const Index* rs = in.neighbors_row_splits->data();
  const Index* idx = in.neighbors_index->data();
  const float* a = in.neighbors_importance.defined() ? in.neighbors_importance.data() : nullptr;
  const float* imp = in.inp_importance.defined() ? in.inp_importance.data() : nullptr;
  S.psi_from_importance = options.normalize && a;
  parallel_for(P.M, 256, [&](Index j0, Index j1) {
    for (Index j = j0; j < j1; ++j) {
      if (options.normalize) {
        float psi = 0.0f;
        if (a) {
          for (Index e = rs[j]; e < rs[j + 1]; ++e) psi += a[e];
        } else {
          psi = static_cast<float>(rs[j + 1] - rs[j]);
        }
        if (psi != 0.0f) {
          S.inv_psi[j] = 1.0f / psi;
          S.divided[j] = 1;
        }
      }
      const float ip = S.inv_psi[j];
      for (Index e = rs[j]; e < rs[j + 1]; ++e) {
        const float w = (imp ? imp[idx[e]] : 1.0f) * (a ? a[e] : 1.0f);
        S.s[e] = w * ip;
      }
    }
  });
  return S;
}

// The arrays that define the edge geometry.
struct GeometryTensors {
  const float* out_positions;
  const float* inp_positions;
  const float* inv_extents;  // 1 / extents, same layout
};

std::vector<float> inverse_extents(const Tensor& extents) {
  std::vector<float> inv(static_cast<size_t>(extents.numel()));
  for (size_t k = 0; k < inv.size(); ++k) inv[k] = 1.0f / extents.data()[k];
  return inv;
}

// Edges of the neighbor list itself: rows = output points j, cols = input points i.
CConvEdges list_edges(const Problem& P, const GeometryTensors& in, const IndexVector& splits,
                      const IndexVector& index, const float* s) {
  CConvEdges E;
  E.num_rows = P.M;
  E.num_cols = P.N;
  E.row_splits = splits.data();
  E.col_index = index.data();
  E.edge_scale = s;
  E.row_pos = in.out_positions;
  E.col_pos = in.inp_positions;
  E.col_minus_row = true;  // r = x_i - x_j
  E.inv_extents = in.inv_extents;
  E.owner_stride = P.ext.owner_stride;
  E.axis_stride = P.ext.axis_stride;
  E.extents_by_col = false;
  return E;
}

// Edges of the inverted list: rows = input points i, cols = output points j, same geometry.
CConvEdges inverted_edges(const Problem& P, const GeometryTensors& in, const InvertedNeighborList& inv,
                          const float* s_inv) {
  CConvEdges E;
  E.num_rows = P.N;
  E.num_cols = P.M;
  E.row_splits = inv.row_splits.data();
  E.col_index = inv.query_index.data();
  E.edge_scale = s_inv;
  E.row_pos = in.inp_positions;
  E.col_pos = in.out_positions;
  E.col_minus_row = false;  // r = x_row - x_col = x_i - x_j
  E.inv_extents = in.inv_extents;
  E.owner_stride = P.ext.owner_stride;
  E.axis_stride = P.ext.axis_stride;
  E.extents_by_col = true;
  return E;
}

std::vector<float> permute_to_inverted(const InvertedNeighborList& inv, const std::vector<float>& s) {
  std::vector<float> out(inv.entry_index.size());
  parallel_for(static_cast<Index>(out.size()), 1 << 14, [&](Index k0, Index k1) {
    for (Index k = k0; k < k1; ++k) out[k] = s[inv.entry_index[k]];
  });
  return out;
}

void add_into_grad(const Tensor& t, const std::vector<float>& g) {
  float* d = t.mutable_grad().data();
  parallel_for(static_cast<Index>(g.size()), 1 << 14, [&](Index k0, Index k1) {
    for (Index k = k0; k < k1; ++k) d[k] += g[k];
  });
}

// Everything the backward needs, captured once.
struct Saved {
  bool transpose = false;
  Problem P;
  CConvOpOptions options;
  Tensor filters, out_positions, extents, offset, inp_positions, inp_features, inp_importance, neighbors_importance;
  std::shared_ptr<NeighborArrays> nb;
  std::shared_ptr<Scales> scales;
};

// Per-entry gradients (list order) reduced into positions, extents, offset and importances.
void reduce_edge_grads(const Saved& S, const InvertedNeighborList& inv, const std::vector<float>& t,
                       const std::vector<float>& grel, const std::vector<float>& gext,
                       const std::vector<float>& goff_rows) {
  const Problem& P = S.P;
  const Index* rs = S.nb->splits->data();
  const Index* idx = S.nb->index->data();
  const std::vector<float>& inv_psi = S.scales->inv_psi;
  const std::vector<float>& s = S.scales->s;
  const float* a = S.neighbors_importance.defined() ? S.neighbors_importance.data() : nullptr;
  const float* imp = S.inp_importance.defined() ? S.inp_importance.data() : nullptr;

  if (!grel.empty() && S.inp_positions.requires_grad()) {
    float* d = S.inp_positions.mutable_grad().data();
    parallel_for(P.N, 256, [&](Index i0, Index i1) {
      for (Index i = i0; i < i1; ++i) {
        float acc[3] = {0.0f, 0.0f, 0.0f};
        for (Index k = inv.row_splits[i]; k < inv.row_splits[i + 1]; ++k)
          for (int c = 0; c < 3; ++c) acc[c] += grel[3 * inv.entry_index[k] + c];
        for (int c = 0; c < 3; ++c) d[3 * i + c] += acc[c];
      }
    });
  }
  if (!grel.empty() && S.out_positions.requires_grad()) {
    float* d = S.out_positions.mutable_grad().data();
    parallel_for(P.M, 256, [&](Index j0, Index j1) {
      for (Index j = j0; j < j1; ++j) {
        float acc[3] = {0.0f, 0.0f, 0.0f};
        for (Index e = rs[j]; e < rs[j + 1]; ++e)
          for (int c = 0; c < 3; ++c) acc[c] += grel[3 * e + c];
        for (int c = 0; c < 3; ++c) d[3 * j + c] -= acc[c];
      }
    });
  }
  if (!gext.empty()) {
    std::vector<float> rows(static_cast<size_t>(3 * P.M));
    parallel_for(P.M, 256, [&](Index j0, Index j1) {
      for (Index j = j0; j < j1; ++j) {
        float acc[3] = {0.0f, 0.0f, 0.0f};
        for (Index e = rs[j]; e < rs[j + 1]; ++e)
          for (int c = 0; c < 3; ++c) acc[c] += gext[3 * e + c];
        for (int c = 0; c < 3; ++c) rows[3 * j + c] = acc[c];
      }
    });
    float* d = S.extents.mutable_grad().data();
    const ExtentsLayout& L = P.ext;
    if (L.owner_stride == 0) {  // shared: sum over all rows in order
      float acc[3] = {0.0f, 0.0f, 0.0f};
      for (Index j = 0; j < P.M; ++j)
        for (int c = 0; c < 3; ++c) acc[c] += rows[3 * j + c];
      if (L.axis_stride == 0)
        d[0] += acc[0] + acc[1] + acc[2];
      else
        for (int c = 0; c < 3; ++c) d[c] += acc[c];
    } else {
      for (Index j = 0; j < P.M; ++j) {
        if (L.axis_stride == 0)
          d[j] += rows[3 * j] + rows[3 * j + 1] + rows[3 * j + 2];
        else
          for (int c = 0; c < 3; ++c) d[3 * j + c] += rows[3 * j + c];
      }
    }
  }
  if (!goff_rows.empty()) {
    float acc[3] = {0.0f, 0.0f, 0.0f};
    const Index n = static_cast<Index>(goff_rows.size() / 3);
    for (Index r = 0; r < n; ++r)
      for (int c = 0; c < 3; ++c) acc[c] += goff_rows[3 * r + c];
    float* d = S.offset.mutable_grad().data();
    for (int c = 0; c < 3; ++c) d[c] += acc[c];
  }
  if (imp && S.inp_importance.requires_grad()) {
    float* d = S.inp_importance.mutable_grad().data();
    parallel_for(P.N, 256, [&](Index i0, Index i1) {
      for (Index i = i0; i < i1; ++i) {
        float acc = 0.0f;
        for (Index k = inv.row_splits[i]; k < inv.row_splits[i + 1]; ++k) {
          const Index e = inv.entry_index[k];
          acc += t[e] * (a ? a[e] : 1.0f) * inv_psi[inv.query_index[k]];
        }
        d[i] += acc;
      }
    });
  }
  if (a && S.neighbors_importance.requires_grad()) {
    float* d = S.neighbors_importance.mutable_grad().data();
    const bool via_psi = S.scales->psi_from_importance;
    parallel_for(P.M, 256, [&](Index j0, Index j1) {
      for (Index j = j0; j < j1; ++j) {
        float R = 0.0f;
        if (via_psi)
          for (Index e = rs[j]; e < rs[j + 1]; ++e) R += s[e] * t[e];
        // psi_j == 0 means no normalization happened (inv_psi = 1): no psi term.
        const bool normalized = via_psi && S.scales->divided[j];
        const float ip = inv_psi[j];
        for (Index e = rs[j]; e < rs[j + 1]; ++e) {
          float g = t[e] * (imp ? imp[idx[e]] : 1.0f) * ip;
          if (normalized) g -= R * ip;
          d[e] += g;
        }
      }
    });
  }
}

void backward(const Saved& S, const Tensor& out) {
  const Problem& P = S.P;
  const float* dout = out.grad().data();
  const IndexVector& splits = *S.nb->splits;
  const IndexVector& index = *S.nb->index;
  const std::vector<float>& s = S.scales->s;
  const bool need_k = S.filters.requires_grad();
  const bool need_f = S.inp_features.requires_grad();
  const bool need_pos = S.inp_positions.requires_grad() || S.out_positions.requires_grad();
  const bool need_ext = S.extents.requires_grad();
  const bool need_off = S.offset.defined() && S.offset.requires_grad() && !S.options.align_corners;
  const bool need_imp = S.inp_importance.defined() && S.inp_importance.requires_grad();
  const bool need_a = S.neighbors_importance.defined() && S.neighbors_importance.requires_grad();
  const bool need_t = need_imp || need_a;
  const bool need_edge = need_t || need_pos || need_ext || need_off;
  const bool need_inv = S.transpose || need_f || need_pos || need_imp;
  if (!need_k && !need_f && !need_edge) return;

  InvertedNeighborList inv;
  std::vector<float> s_inv;
  if (need_inv) {
    inv = invert_neighbor_list(index, splits, P.N);
    s_inv = permute_to_inverted(inv, s);
  }
  const std::vector<float> inv_ext = inverse_extents(S.extents);
  const GeometryTensors geo{S.out_positions.data(), S.inp_positions.data(), inv_ext.data()};
  const CConvEdges fwd = list_edges(P, geo, splits, index, s.data());
  CConvEdges bwd;
  if (need_inv) bwd = inverted_edges(P, geo, inv, s_inv.data());
  // conv: the result lives on the list's rows (fwd), the features on its cols.
  // transpose: the result lives on the inverted rows (bwd), the features on the list's rows.
  const CConvEdges& result_edges = S.transpose ? bwd : fwd;
  const CConvEdges& adjoint_edges = S.transpose ? fwd : bwd;
  const int cin = static_cast<int>(P.cin), cout = static_cast<int>(P.cout);
  const float* feats = S.inp_features.data();

  if (need_k)
    kernels::cconv_filter_grad(P.geom, result_edges, feats, cin, dout, cout, S.filters.mutable_grad().data(),
                               /*accumulate=*/true);
  if (need_f) {
    std::vector<float> df(static_cast<size_t>(S.inp_features.numel()));
    kernels::cconv_feature_grad(P.geom, adjoint_edges, dout, cout, S.filters.data(), cin, df.data());
    add_into_grad(S.inp_features, df);
  }
  if (need_edge) {
    const size_t E = static_cast<size_t>(P.E);
    std::vector<float> t(need_t ? E : 0), grel(need_pos ? 3 * E : 0), gext(need_ext ? 3 * E : 0);
    std::vector<float> goff(need_off ? static_cast<size_t>(3 * result_edges.num_rows) : 0);
    kernels::CConvEdgeGradOut o;
    o.t = need_t ? t.data() : nullptr;
    o.grel = need_pos ? grel.data() : nullptr;
    o.gext = need_ext ? gext.data() : nullptr;
    o.goff_rows = need_off ? goff.data() : nullptr;
    kernels::cconv_edge_grad(P.geom, result_edges, feats, cin, S.filters.data(), dout, cout, o);
    if (S.transpose) {  // per-entry values come in inverted order: bring them to list order
      auto to_list = [&](std::vector<float>& v, int width) {
        if (v.empty()) return;
        std::vector<float> w(v.size());
        parallel_for(P.E, 1 << 14, [&](Index k0, Index k1) {
          for (Index k = k0; k < k1; ++k)
            for (int c = 0; c < width; ++c) w[width * inv.entry_index[k] + c] = v[width * k + c];
        });
        v.swap(w);
      };
      to_list(t, 1);
      to_list(grel, 3);
      to_list(gext, 3);
    }
    reduce_edge_grads(S, inv, t, grel, gext, goff);
  }
}

Tensor run(const char* op, const CConvInputs& in, const CConvOpOptions& options, bool transpose) {
  Saved S;
  S.transpose = transpose;
  S.P = validate(op, in, options, transpose);
  S.options = options;
  const Problem& P = S.P;
  S.scales = std::make_shared<Scales>(edge_scales(P, in, options));
  const std::vector<float>& s = S.scales->s;

  Tensor out({transpose ? P.N : P.M, P.cout});
  const std::vector<float> inv_ext = inverse_extents(in.extents);
  const GeometryTensors geo{in.out_positions.data(), in.inp_positions.data(), inv_ext.data()};
  const CConvEdges fwd = list_edges(P, geo, *in.neighbors_row_splits, *in.neighbors_index, s.data());
  if (!transpose) {
    kernels::cconv_gather_gemm(P.geom, fwd, in.inp_features.data(), static_cast<int>(P.cin), in.filters.data(),
                               static_cast<int>(P.cout), out.data());
  } else {
    const InvertedNeighborList inv = invert_neighbor_list(*in.neighbors_index, *in.neighbors_row_splits, P.N);
    const std::vector<float> s_inv = permute_to_inverted(inv, s);
    kernels::cconv_gather_gemm(P.geom, inverted_edges(P, geo, inv, s_inv.data()), in.inp_features.data(),
                               static_cast<int>(P.cin), in.filters.data(), static_cast<int>(P.cout), out.data());
  }

  if (should_record({&in.filters, &in.out_positions, &in.extents, &in.offset, &in.inp_positions, &in.inp_features,
                     &in.inp_importance, &in.neighbors_importance})) {
    S.filters = in.filters;
    S.out_positions = in.out_positions;
    S.extents = in.extents;
    S.offset = in.offset;
    S.inp_positions = in.inp_positions;
    S.inp_features = in.inp_features;
    S.inp_importance = in.inp_importance;
    S.neighbors_importance = in.neighbors_importance;
    S.nb = hold_neighbors(in);
    auto saved = std::make_shared<Saved>(std::move(S));
    record_op(out, {&in.filters, &in.out_positions, &in.extents, &in.offset, &in.inp_positions, &in.inp_features,
                     &in.inp_importance, &in.neighbors_importance}, [saved](const Tensor& out) { backward(*saved, out); });
  }
  return out;
}

}  // namespace

Tensor continuous_conv(const CConvInputs& in, const CConvOpOptions& options) {
  return run("continuous_conv", in, options, /*transpose=*/false);
}

Tensor continuous_conv_transpose(const CConvInputs& in, const CConvOpOptions& options) {
  return run("continuous_conv_transpose", in, options, /*transpose=*/true);
}

}  // namespace lagrad
