#pragma once
// Nominal FLOP counts of the ContinuousConv and Dense compute kernels, for the benchmarks'
// "fraction of peak" (docs/performance.md). A multiply-add counts as 2 FLOPs. The counts are the
// arithmetic the kernels must do on the problem's shape, not what a profiler would count:
//
// ContinuousConv (layers/kernels/cconv_*.cpp), for a CSR edge list of `edges` entries from
// `rows` result points to `cols` feature points, `cells` = kd*kh*kw filter cells, `corners` =
// 8 (linear interpolation) or 1 (nearest):
//   gather (build_interp_block):  2 * edges * corners * c      every edge scatters s*w_c*f into
//                                 its corners' cells (c = the gathered channels); zero weights
//                                 are skipped by the kernel but counted here
//   block GEMM:                   2 * rows * (cells * cin) * cout   [64 rows x cells*cin] x
//                                 [cells*cin x cout] per 64-row block
//   forward        = gather(c = cin,  over the list)          + GEMM(rows)
//   filter grad    = gather(c = cin,  over the list)          + GEMM(rows)  (A^T dOut; the final
//                    sum of the 16 partial filters, 16 * cells*cin*cout adds, is not counted)
//   feature grad   = gather(c = cout, over the inverted list) + GEMM(cols)  (dOut gathered, times
//                    the transposed filter); for narrow inputs (cconv_feature_grad_contracts_first:
//                    cin < cout, cells*cin <= 8 cout) the kernel contracts first, H = dOut K^T,
//                    and gathers H: GEMM(rows) + gather(c = cin, over the inverted list)
//   position grad  = GEMM(rows) (G = dOut K^T) + 2 * edges * corners * cin (8 corner dot
//                    products per edge); the mapping Jacobian and chain rule are not counted
// The geometry (coordinate mapping, interpolation weights: ~100 operations per edge) is not
// counted anywhere, so fractions of peak are lower bounds of the arithmetic actually done.
//
// Dense y = x W^T + b (in -> out on `rows` rows):
//   forward  = 2 * rows * in * out  (bias add not counted)
//   backward = 2 * rows * in * out (dW = dY^T x) + 2 * rows * in * out (dX = dY W, when the input
//              needs a gradient); db not counted.
#include "../core/shape.h"
#include "kernels/cconv_kernels.h"

namespace lagrad {

struct CConvWork {
  Index rows = 0;   // result points (the list's rows)
  Index cols = 0;   // feature points (the list's cols)
  Index edges = 0;  // neighbor entries
  Index cells = 0;  // kd * kh * kw
  Index corners = 8;
  Index cin = 0;
  Index cout = 0;
};

inline double cconv_gather_flops(const CConvWork& w, Index channels) {
  return 2.0 * double(w.edges) * double(w.corners) * double(channels);
}
inline double cconv_gemm_flops(const CConvWork& w, Index gemm_rows) {
  return 2.0 * double(gemm_rows) * double(w.cells) * double(w.cin) * double(w.cout);
}
inline double cconv_forward_flops(const CConvWork& w) { return cconv_gather_flops(w, w.cin) + cconv_gemm_flops(w, w.rows); }
inline double cconv_filter_grad_flops(const CConvWork& w) {
  return cconv_gather_flops(w, w.cin) + cconv_gemm_flops(w, w.rows);
}
inline double cconv_feature_grad_flops(const CConvWork& w) {
  if (kernels::cconv_feature_grad_contracts_first(static_cast<int>(w.cells), static_cast<int>(w.cin),
                                                  static_cast<int>(w.cout)))
    return cconv_gemm_flops(w, w.rows) + cconv_gather_flops(w, w.cin);
  return cconv_gather_flops(w, w.cout) + cconv_gemm_flops(w, w.cols);
}
inline double cconv_position_grad_flops(const CConvWork& w) {
  return cconv_gemm_flops(w, w.rows) + cconv_gather_flops(w, w.cin);
}

inline double dense_forward_flops(Index rows, Index in, Index out) { return 2.0 * double(rows) * double(in) * double(out); }
inline double dense_backward_flops(Index rows, Index in, Index out, bool input_grad) {
  return (input_grad ? 2.0 : 1.0) * dense_forward_flops(rows, in, out);
}

}  // namespace lagrad
