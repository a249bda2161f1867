// Shared neighbor lists (CConvNeighborArgs::neighbors) carry where they came from, and the
// layers refuse a list searched for another call: other extents, ignore_query_points, metric,
// positions, counts or hash_table each name the layer and the mismatch. Lists that do match
// (the same positions, or equal copies of them) give bitwise the output of the layer's own search.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "random_tensors.h"
#include "core/tape.h"
#include "layers/continuous_conv.h"
#include "layers/continuous_conv_transpose.h"

namespace lagrad {
namespace {

using testing::uniform;
using E = std::invalid_argument;

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), static_cast<size_t>(a.numel()) * sizeof(float)) == 0;
}

// How messages show extents with more than one value: shape and fingerprint.
std::string extents_tag(const Tensor& points, const Tensor& queries, const Tensor& extents) {
  const auto p = cconv_radius_search(points, queries, extents, Metric::L2, false)->provenance;
  char hex[20];
  std::snprintf(hex, sizeof hex, "%08llx", static_cast<unsigned long long>(p.extents_fingerprint >> 32));
  return "extents " + shape_str(p.extents_shape) + " #" + hex;
}

ContinuousConvOptions options(Index in_channels) {
  return ContinuousConvOptions(3, {3, 3, 3})
      .window_function("poly6")
      .radius_search_ignore_query_points(true)
      .in_channels(in_channels);
}

struct Setup {
  Tensor pos = uniform({40, 3}, 0.0f, 1.0f, 1);
  Tensor f = uniform({40, 2}, -1.0f, 1.0f, 2);
  ContinuousConvCall shared(const Tensor& points, const Tensor& queries, const Tensor& extents,
                            Metric metric = Metric::L2, bool ignore = true) const {
    ContinuousConvCall call;
    call.neighbors = cconv_radius_search(points, queries, extents, metric, ignore);
    return call;
  }
};

TEST_CASE("ContinuousConv: a shared list searched with another extent is refused") {
  ContinuousConv conv(options(2));
  Setup s;
  NoGradGuard ng;
  const auto call = s.shared(s.pos, s.pos, Tensor::scalar(0.225f));
  CHECK_THROWS_WITH_AS(conv(s.f, s.pos, s.pos, 0.3f, call),
                       "ContinuousConv: neighbors were searched with extent 0.225, this call uses 0.3", E);
  // Values that print alike at six digits are shown with nine.
  CHECK_THROWS_WITH_AS(conv(s.f, s.pos, s.pos, std::nextafter(0.225f, 1.0f), call),
                       "ContinuousConv: neighbors were searched with extent 0.224999994, this call uses 0.225000009",
                       E);
  // Per-point extents: same shape, other values.
  const Tensor ext = uniform({40}, 0.5f, 0.7f, 3), ext2 = uniform({40}, 0.5f, 0.7f, 4);
  const auto per_point = s.shared(s.pos, s.pos, ext);
  CHECK_THROWS_WITH_AS(conv(s.f, s.pos, s.pos, ext2, per_point),
                       ("ContinuousConv: neighbors were searched with " + extents_tag(s.pos, s.pos, ext) +
                        ", this call uses " + extents_tag(s.pos, s.pos, ext2))
                           .c_str(),
                       E);
  // Another layout of equal values.
  CHECK_THROWS_WITH_AS(conv(s.f, s.pos, s.pos, Tensor::full({40}, 0.6f), s.shared(s.pos, s.pos, Tensor::scalar(0.6f))),
                       ("ContinuousConv: neighbors were searched with extent 0.6, this call uses " +
                        extents_tag(s.pos, s.pos, Tensor::full({40}, 0.6f)))
                           .c_str(),
                       E);
}

TEST_CASE("ContinuousConv: a shared list searched with another ignore_query_points is refused") {
  ContinuousConv conv(options(2));
  Setup s;
  NoGradGuard ng;
  CHECK_THROWS_WITH_AS(
      conv(s.f, s.pos, s.pos, 0.5f, s.shared(s.pos, s.pos, Tensor::scalar(0.5f), Metric::L2, false)),
      "ContinuousConv: neighbors were searched with ignore_query_points = false, this call uses true", E);
}

TEST_CASE("ContinuousConv: a shared list searched with another metric is refused") {
  ContinuousConv conv(options(2));
  Setup s;
  NoGradGuard ng;
  CHECK_THROWS_WITH_AS(conv(s.f, s.pos, s.pos, 0.5f, s.shared(s.pos, s.pos, Tensor::scalar(0.5f), Metric::L1)),
                       "ContinuousConv: neighbors were searched with metric L1, this call uses L2", E);
  ContinuousConv linf(options(2).radius_search_metric("Linf"));
  CHECK_THROWS_WITH_AS(linf(s.f, s.pos, s.pos, 0.5f, s.shared(s.pos, s.pos, Tensor::scalar(0.5f))),
                       "ContinuousConv: neighbors were searched with metric L2, this call uses Linf", E);
}

TEST_CASE("ContinuousConv: a shared list searched on other positions of the same count is refused") {
  ContinuousConv conv(options(2));
  Setup s;
  NoGradGuard ng;
  const Tensor moved = uniform({40, 3}, 0.0f, 1.0f, 5);
  const auto call = s.shared(s.pos, s.pos, Tensor::scalar(0.5f));
  CHECK_THROWS_WITH_AS(conv(s.f, moved, s.pos, 0.5f, call),
                       "ContinuousConv: neighbors were searched on other inp_positions than this call's "
                       "(same count 40, other coordinates)",
                       E);
  CHECK_THROWS_WITH_AS(conv(s.f, s.pos, moved, 0.5f, call),
                       "ContinuousConv: neighbors were searched on other out_positions than this call's "
                       "(same count 40, other coordinates)",
                       E);
  // The same tensor, moved in place after the search (a simulation loop reusing its buffers).
  const Tensor pos = s.pos.clone();
  const auto before = s.shared(pos, pos, Tensor::scalar(0.5f));
  pos.data()[7] += 1e-6f;
  CHECK_THROWS_WITH_AS(conv(s.f, pos, pos, 0.5f, before),
                       "ContinuousConv: neighbors were searched on other inp_positions than this call's "
                       "(same count 40, other coordinates)",
                       E);
}

TEST_CASE("ContinuousConv: a shared list searched for other point counts is refused") {
  ContinuousConv conv(options(2));
  Setup s;
  NoGradGuard ng;
  // Columns: a list over the first 30 points has only indices valid for all 40.
  const Tensor first30 = Tensor::from_data({30, 3}, s.pos.data());
  CHECK_THROWS_WITH_AS(conv(s.f, s.pos, s.pos, 0.5f, s.shared(first30, s.pos, Tensor::scalar(0.5f))),
                       "ContinuousConv: neighbors were searched with [num_out=40, num_inp=30], "
                       "this call has [num_out=40, num_inp=40]",
                       E);
  // Rows.
  CHECK_THROWS_WITH_AS(conv(s.f, s.pos, s.pos, 0.5f, s.shared(s.pos, first30, Tensor::scalar(0.5f))),
                       "ContinuousConv: neighbors were searched with [num_out=30, num_inp=40], "
                       "this call has [num_out=40, num_inp=40]",
                       E);
}

TEST_CASE("ContinuousConv: a shared list refuses another hash_table and lists without provenance") {
  ContinuousConv conv(options(2));
  Setup s;
  NoGradGuard ng;
  const SpatialHashIndex hash(s.pos.data(), 40, 0.25f);
  ContinuousConvCall call = s.shared(s.pos, s.pos, Tensor::scalar(0.5f));
  call.hash_table = &hash;
  CHECK_THROWS_WITH_AS(conv(s.f, s.pos, s.pos, 0.5f, call),
                       "ContinuousConv: neighbors were searched without a hash_table, this call passes one "
                       "(pass the list's hash_table or none)",
                       E);
  const SpatialHashIndex other(s.pos.data(), 40, 0.25f);
  call.neighbors = cconv_radius_search(s.pos, s.pos, Tensor::scalar(0.5f), Metric::L2, true, &other);
  CHECK_THROWS_WITH_AS(conv(s.f, s.pos, s.pos, 0.5f, call),
                       "ContinuousConv: neighbors were searched with another hash_table than this call's "
                       "(pass the list's hash_table or none)",
                       E);
  // Searched with this very table: accepted.
  call.neighbors = cconv_radius_search(s.pos, s.pos, Tensor::scalar(0.5f), Metric::L2, true, &hash);
  CHECK(bitwise_equal(conv(s.f, s.pos, s.pos, 0.5f, call), conv(s.f, s.pos, s.pos, 0.5f)));

  auto own = std::make_shared<CConvNeighborList>();
  static_cast<NeighborList&>(*own) = *call.neighbors;  // the right entries, but no record of them
  ContinuousConvCall bare;
  bare.neighbors = own;
  CHECK_THROWS_WITH_AS(conv(s.f, s.pos, s.pos, 0.5f, bare),
                       "ContinuousConv: neighbors carry no provenance: share lists made by cconv_radius_search "
                       "(a list of your own goes in user_neighbors_index / user_neighbors_row_splits)",
                       E);
}

TEST_CASE("ContinuousConv: a matching shared list gives bitwise the layer's own output") {
  ContinuousConv conv(options(2));
  Setup s;
  const Tensor out = uniform({25, 3}, 0.0f, 1.0f, 6);
  const Tensor per_point = uniform({25}, 0.4f, 0.6f, 7), per_axis = uniform({25, 3}, 0.4f, 0.6f, 8);
  NoGradGuard ng;
  for (const Tensor& ext : {Tensor::scalar(0.5f), per_point, per_axis}) {
    const Tensor own = conv(s.f, s.pos, out, ext);
    CHECK(bitwise_equal(conv(s.f, s.pos, out, ext, s.shared(s.pos, out, ext)), own));
    // Equal copies of the positions and extents are the same call.
    CHECK(bitwise_equal(conv(s.f, s.pos.clone(), out.clone(), ext.clone(), s.shared(s.pos, out, ext)), own));
  }
  // Shapes the search reads alike: [] and [1]; [M] and [M, 1].
  CHECK(bitwise_equal(conv(s.f, s.pos, out, Tensor::full({1}, 0.5f), s.shared(s.pos, out, Tensor::scalar(0.5f))),
                      conv(s.f, s.pos, out, Tensor::full({1}, 0.5f))));
  const Tensor column = per_point.view({25, 1});
  CHECK(bitwise_equal(conv(s.f, s.pos, out, column, s.shared(s.pos, out, per_point)), conv(s.f, s.pos, out, column)));
}

TEST_CASE("ContinuousConvTranspose: shared lists are checked with the transpose's names") {
  // Rows are the transpose's input points, columns its output points.
  ContinuousConvTranspose convt(options(2));
  const Tensor inp = uniform({25, 3}, 0.0f, 1.0f, 1), out = uniform({40, 3}, 0.0f, 1.0f, 2);
  const Tensor h = uniform({25, 2}, -1.0f, 1.0f, 3);
  const Tensor ext = uniform({25}, 0.4f, 0.6f, 4);
  auto shared = [](const Tensor& points, const Tensor& queries, const Tensor& extents, Metric metric = Metric::L2,
                   bool ignore = true) {
    ContinuousConvTransposeCall call;
    call.neighbors = cconv_radius_search(points, queries, extents, metric, ignore);
    return call;
  };
  NoGradGuard ng;
  CHECK_THROWS_WITH_AS(convt(h, inp, out, 0.6f, shared(out, inp, Tensor::scalar(0.5f))),
                       "ContinuousConvTranspose: neighbors were searched with extent 0.5, this call uses 0.6", E);
  CHECK_THROWS_WITH_AS(convt(h, inp, out, 0.5f, shared(out, inp, Tensor::scalar(0.5f), Metric::L2, false)),
                       "ContinuousConvTranspose: neighbors were searched with ignore_query_points = false, "
                       "this call uses true",
                       E);
  CHECK_THROWS_WITH_AS(convt(h, inp, out, 0.5f, shared(out, inp, Tensor::scalar(0.5f), Metric::Linf)),
                       "ContinuousConvTranspose: neighbors were searched with metric Linf, this call uses L2", E);
  const Tensor moved = uniform({40, 3}, 0.0f, 1.0f, 5);
  CHECK_THROWS_WITH_AS(convt(h, inp, moved, 0.5f, shared(out, inp, Tensor::scalar(0.5f))),
                       "ContinuousConvTranspose: neighbors were searched on other out_positions than this call's "
                       "(same count 40, other coordinates)",
                       E);
  const Tensor first30 = Tensor::from_data({30, 3}, out.data());
  CHECK_THROWS_WITH_AS(convt(h, inp, out, 0.5f, shared(first30, inp, Tensor::scalar(0.5f))),
                       "ContinuousConvTranspose: neighbors were searched with [num_inp=25, num_out=30], "
                       "this call has [num_inp=25, num_out=40]",
                       E);
  // A matching list: bitwise the transpose's own search.
  for (const Tensor& e : {Tensor::scalar(0.5f), ext}) {
    CHECK(bitwise_equal(convt(h, inp, out, e, shared(out, inp, e)), convt(h, inp, out, e)));
    CHECK(bitwise_equal(convt(h, inp.clone(), out.clone(), e, shared(out, inp, e)), convt(h, inp, out, e)));
  }
}

}  // namespace
}  // namespace lagrad
