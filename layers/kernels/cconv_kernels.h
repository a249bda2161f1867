#pragma once
// The ContinuousConv compute kernels: pure functions on raw arrays, TBB-parallel, no validation,
// results bitwise independent of the thread count (fixed row blocks, fixed-order reductions).
//
// Every pass works on a CSR edge list ("rows" gather from "cols"). The forward conv uses the
// neighbor list itself (rows = output points, cols = input points); the transpose conv and the
// feature gradient of the conv use the inverted list (rows = input points). Per edge e from row
// j to col i the kernels evaluate the filter at the relative position
//   r = x_i - x_j (col_minus_row) or x_j - x_i,
// with the extents of the row or of the col, and weight the contribution with a precomputed
// edge scale s_e (importance, window value, normalization folded together by the op).
//
// Layout: the filter is a row-major matrix [cells * cin, cout] (Open3D's [kd, kh, kw, in, out]
// viewed flat), cell = z*kh*kw + y*kw + x.
#include "../../core/shape.h"
#include "cconv_geometry.h"

namespace lagrad::kernels {

struct CConvEdges {
  Index num_rows = 0;
  Index num_cols = 0;
  const Index* row_splits = nullptr;  // [num_rows + 1]
  const Index* col_index = nullptr;   // [E]
  const float* edge_scale = nullptr;  // [E] s_e
  const float* row_pos = nullptr;     // [num_rows, 3]
  const float* col_pos = nullptr;     // [num_cols, 3]
  bool col_minus_row = true;          // r = x_col - x_row, else x_row - x_col
  // Inverse extents (1 / extent, computed once by the caller): value for owner o and axis a =
  // inv_extents[o * owner_stride + a * axis_stride] (owner_stride 0: shared by all;
  // axis_stride 0: isotropic). The owner is the row or the col.
  const float* inv_extents = nullptr;
  Index owner_stride = 0;
  Index axis_stride = 0;
  bool extents_by_col = false;

  Index num_edges() const { return row_splits[num_rows]; }
  // Relative position and inverse extents of edge e (row j, col i).
  void edge_frame(Index j, Index i, float r[3], float inv_ext[3]) const {
    const float* pr = row_pos + 3 * j;
    const float* pc = col_pos + 3 * i;
    for (int a = 0; a < 3; ++a) r[a] = col_minus_row ? pc[a] - pr[a] : pr[a] - pc[a];
    const Index o = extents_by_col ? i : j;
    for (int a = 0; a < 3; ++a) inv_ext[a] = inv_extents[o * owner_stride + a * axis_stride];
  }
};

// Rows per block of the blocked kernels (fixed: it defines the summation order).
constexpr Index kCConvRowBlock = 64;

// out[j] = sum_{e in row j} s_e sum_c w_c(e) f[col(e)] . filter[cell_c]   -> out [rows, cout]
// (the forward conv; also the transpose conv and the feature gradients with suitable edges and
// filter). Per row block: A[block, cells*cin] gathers the interpolated features, then one GEMM.
void cconv_gather_gemm(const CConvGeometry& g, const CConvEdges& edges, const float* col_features, int cin,
                       const float* filter, int cout, float* out);

// dfilter (+)= sum_j A_j^T dout_j with A as in cconv_gather_gemm: the filter gradient [cells*cin, cout].
// Partial sums over a fixed number of row ranges, combined in order.
void cconv_filter_grad(const CConvGeometry& g, const CConvEdges& edges, const float* col_features, int cin,
                       const float* dout, int cout, float* dfilter, bool accumulate);

// Per-edge backward quantities of cconv_gather_gemm given dout [rows, cout]:
//   t[e]        = dL/ds_e = sum_c w_c f_i . (filter_c dout_j)          (if t != nullptr)
//   grel[e]     = dL/dr (3 floats, includes s_e)                         (if grel != nullptr)
//   gext[e]     = dL/d extent per axis (3 floats, includes s_e)          (if gext != nullptr)
//   goff_rows[j]= sum over row j of dL/dv (3 floats, includes s_e)       (if goff_rows != nullptr)
// Per row block one GEMM G = dout_block * filter^T [block, cells*cin], then 8 dot products per edge.
struct CConvEdgeGradOut {
  float* t = nullptr;
  float* grel = nullptr;
  float* gext = nullptr;
  float* goff_rows = nullptr;
};
void cconv_edge_grad(const CConvGeometry& g, const CConvEdges& edges, const float* col_features, int cin,
                     const float* filter, const float* dout, int cout, const CConvEdgeGradOut& out);

// filter [cells, cin, cout] -> [cells, cout, cin] (the filter of the adjoint pass).
void cconv_transpose_filter(const float* filter, int cells, int cin, int cout, float* out);

// The feature gradient of cconv_gather_gemm (and the transpose conv's), over the adjoint edges
// (rows = the feature points, cols = the result points): out[rows, cin] from dout [cols, cout]
// and the forward filter [cells*cin, cout]. Two algorithms, chosen by the channel counts alone:
//   cin <  cout and cells*cin <= 8 cout: H = dout K^T [cols, cells*cin] first (64-row blocks),
//                then per edge gather cin channels of H's corner cells into the output row;
//   otherwise:   transpose the filter, gather dout per row block, one GEMM (cconv_gather_gemm).
// Allocates its scratch (the transposed filter, or H: cols * cells * cin floats).
bool cconv_feature_grad_contracts_first(int cells, int cin, int cout);
void cconv_feature_grad(const CConvGeometry& g, const CConvEdges& edges, const float* dout, int cout,
                        const float* filter, int cin, float* out);

}  // namespace lagrad::kernels
