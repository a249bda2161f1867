// User neighbor lists of ContinuousConv / ContinuousConvTranspose: every malformed list is
// rejected by the layer, before the op, with a message naming the layer and its
// user_neighbors_* argument (not the op's neighbors_* names) and the expected and actual values.
#include <doctest/doctest.h>

#include <stdexcept>

#include "random_tensors.h"
#include "core/random.h"
#include "core/tape.h"
#include "layers/continuous_conv.h"
#include "layers/continuous_conv_transpose.h"

namespace lagrad {
namespace {

using testing::uniform;

using E = std::invalid_argument;

// A valid list over 4 rows: 7 entries.
struct Lists {
  IndexVector index = {0, 3, 5, 1, 2, 4, 0};
  IndexVector splits = {0, 2, 2, 5, 7};
};

template <class Call>
Call make_call(const Lists& l, Tensor importance = Tensor()) {
  Call call;
  call.user_neighbors_index = &l.index;
  call.user_neighbors_row_splits = &l.splits;
  call.user_neighbors_importance = importance;
  return call;
}

TEST_CASE("ContinuousConv: malformed user neighbor lists name the layer's user_neighbors_* argument") {
  ContinuousConv conv(ContinuousConvOptions(2, {3, 3, 3}).in_channels(2));
  const Tensor inp = uniform({6, 3}, 0.0f, 1.0f, 1);  // columns: num_inp = 6
  const Tensor out = uniform({4, 3}, 0.0f, 1.0f, 2);  // rows: num_out = 4
  const Tensor f = uniform({6, 2}, -1.0f, 1.0f, 3);
  Lists l;
  auto run = [&](Tensor importance = Tensor()) {
    return conv(f, inp, out, 1.0f, make_call<ContinuousConvCall>(l, importance));
  };
  {
    NoGradGuard ng;
    CHECK(run(Tensor::ones({7})).shape() == Shape{4, 2});  // the valid list works
  }

  l.index[2] = 6;
  CHECK_THROWS_WITH_AS(run(), "ContinuousConv: user_neighbors_index[2] = 6 out of range [0, num_inp=6)", E);
  l.index[2] = -3;
  CHECK_THROWS_WITH_AS(run(), "ContinuousConv: user_neighbors_index[2] = -3 out of range [0, num_inp=6)", E);
  l = Lists();

  l.splits.push_back(7);
  CHECK_THROWS_WITH_AS(run(), "ContinuousConv: user_neighbors_row_splits expected [num_out + 1 = 5], got [6]", E);
  l = Lists();
  l.splits[0] = 1;
  CHECK_THROWS_WITH_AS(run(), "ContinuousConv: user_neighbors_row_splits[0] must be 0, got 1", E);
  l = Lists();
  l.splits[2] = 1;
  CHECK_THROWS_WITH_AS(run(), "ContinuousConv: user_neighbors_row_splits must be non-decreasing, got [1] = 2 > [2] = 1",
                       E);
  l = Lists();
  l.index.pop_back();
  CHECK_THROWS_WITH_AS(
      run(), "ContinuousConv: user_neighbors_row_splits ends at 7 but user_neighbors_index has 6 entries", E);
  l = Lists();

  CHECK_THROWS_WITH_AS(run(Tensor::ones({6})),
                       "ContinuousConv: user_neighbors_importance expected [num_neighbors=7], got [6]", E);
  CHECK_THROWS_WITH_AS(run(Tensor::ones({7, 1})),
                       "ContinuousConv: user_neighbors_importance expected [num_neighbors=7], got [7, 1]", E);
  // Importance without the lists would be silently ignored: an error instead.
  ContinuousConvCall only_importance;
  only_importance.user_neighbors_importance = Tensor::ones({7});
  CHECK_THROWS_WITH_AS(conv(f, inp, out, 1.0f, only_importance),
                       "ContinuousConv: user_neighbors_importance needs user_neighbors_index and "
                       "user_neighbors_row_splits",
                       E);
}

TEST_CASE("ContinuousConv: a rejected user list records nothing and leaves the layer usable") {
  ContinuousConv conv(ContinuousConvOptions(2, {3, 3, 3}).in_channels(2));
  const Tensor inp = uniform({6, 3}, 0.0f, 1.0f, 1);
  const Tensor out = uniform({4, 3}, 0.0f, 1.0f, 2);
  const Tensor f = uniform({6, 2}, -1.0f, 1.0f, 3);
  f.set_requires_grad(true);
  Lists l;
  l.index[0] = 99;
  Tape tape;
  TapeScope scope(tape);
  CHECK_THROWS_AS(conv(f, inp, out, 1.0f, make_call<ContinuousConvCall>(l)), E);
  CHECK(tape.size() == 0);
}

TEST_CASE("ContinuousConvTranspose: malformed user neighbor lists name its rows and columns") {
  // The transpose's list has a row per input point (where the features live), listing output
  // points.
  ContinuousConvTranspose convt(ContinuousConvOptions(2, {3, 3, 3}).in_channels(2));
  const Tensor inp = uniform({4, 3}, 0.0f, 1.0f, 1);  // rows: num_inp = 4
  const Tensor out = uniform({6, 3}, 0.0f, 1.0f, 2);  // columns: num_out = 6
  const Tensor h = uniform({4, 2}, -1.0f, 1.0f, 3);
  Lists l;
  auto run = [&](Tensor importance = Tensor()) {
    return convt(h, inp, out, 1.0f, make_call<ContinuousConvTransposeCall>(l, importance));
  };
  {
    NoGradGuard ng;
    CHECK(run(Tensor::ones({7})).shape() == Shape{6, 2});
  }
  l.index[4] = 6;
  CHECK_THROWS_WITH_AS(run(), "ContinuousConvTranspose: user_neighbors_index[4] = 6 out of range [0, num_out=6)", E);
  l = Lists();
  l.splits.pop_back();
  CHECK_THROWS_WITH_AS(run(),
                       "ContinuousConvTranspose: user_neighbors_row_splits expected [num_inp + 1 = 5], got [4]", E);
  l = Lists();
  l.splits.back() = 8;
  CHECK_THROWS_WITH_AS(
      run(), "ContinuousConvTranspose: user_neighbors_row_splits ends at 8 but user_neighbors_index has 7 entries", E);
  l = Lists();
  CHECK_THROWS_WITH_AS(run(Tensor::ones({8})),
                       "ContinuousConvTranspose: user_neighbors_importance expected [num_neighbors=7], got [8]", E);
  ContinuousConvTransposeCall half;
  half.user_neighbors_row_splits = &l.splits;
  CHECK_THROWS_WITH_AS(convt(h, inp, out, 1.0f, half),
                       "ContinuousConvTranspose: user_neighbors_index and user_neighbors_row_splits must be given "
                       "together",
                       E);
}

}  // namespace
}  // namespace lagrad
