// layers/flop_count.h against counts done by hand on a tiny problem.
#include <doctest/doctest.h>

#include "layers/flop_count.h"

using namespace lagrad;

TEST_CASE("flop_count: ContinuousConv pieces on a tiny problem, counted by hand") {
  // 2 result points, 3 feature points, 4 neighbor entries, a 2x2x2 filter (8 cells), linear
  // interpolation (8 corners), 2 -> 3 channels.
  CConvWork w;
  w.rows = 2;
  w.cols = 3;
  w.edges = 4;
  w.cells = 8;
  w.corners = 8;
  w.cin = 2;
  w.cout = 3;
  // gather: 4 edges x 8 corners x 2 channels = 64 multiply-adds = 128 FLOPs
  // block GEMM [2 x 16] x [16 x 3]: 2 * 16 * 3 = 96 multiply-adds = 192 FLOPs
  CHECK(cconv_gather_flops(w, w.cin) == 128.0);
  CHECK(cconv_gemm_flops(w, w.rows) == 192.0);
  CHECK(cconv_forward_flops(w) == 320.0);
  // filter gradient: the same gather, then A^T dOut [16 x 2] x [2 x 3]: 96 multiply-adds
  CHECK(cconv_filter_grad_flops(w) == 320.0);
  // feature gradient with cin >= cout (3 -> 2 here): gather dOut (2 channels) over the 4
  // inverted entries: 4 * 8 * 2 = 64 multiply-adds; GEMM over the 3 feature points
  // [3 x 8*2] x [16 x 3]: 144 multiply-adds
  CConvWork wide = w;
  wide.cin = 3;
  wide.cout = 2;
  CHECK(cconv_feature_grad_flops(wide) == 2.0 * 64 + 2.0 * 144);
  // a narrow input (2 < 3, 8*2 <= 8*3) is contracted first: H = dOut K^T over the 2 result
  // points [2 x 3] x [3 x 16] (96 multiply-adds), then 2 channels per corner: 4 * 8 * 2 = 64
  CHECK(cconv_feature_grad_flops(w) == 2.0 * 96 + 2.0 * 64);
  // position gradient: G = dOut K^T [2 x 3] x [3 x 16] (96) + 8 corner dots of 2 channels per
  // edge (4 * 8 * 2 = 64)
  CHECK(cconv_position_grad_flops(w) == 2.0 * 96 + 2.0 * 64);

  // nearest-neighbor interpolation: one corner per edge
  w.corners = 1;
  CHECK(cconv_forward_flops(w) == 2.0 * 4 * 1 * 2 + 192.0);
}

TEST_CASE("flop_count: Dense forward and backward, counted by hand") {
  // 5 rows, 3 -> 2: y = x W^T is 5 * 3 * 2 = 30 multiply-adds
  CHECK(dense_forward_flops(5, 3, 2) == 60.0);
  CHECK(dense_backward_flops(5, 3, 2, /*input_grad=*/false) == 60.0);  // dW only
  CHECK(dense_backward_flops(5, 3, 2, /*input_grad=*/true) == 120.0);  // dW and dX
}
