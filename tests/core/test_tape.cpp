// The tape: recording, gradient accumulation, no-grad scopes, scoped tapes, seeds, long chains.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>

#include "core/ops.h"
#include "core/tape.h"

using namespace lagrad;

namespace {
Tensor leaf(const Shape& s, std::vector<float> v) {
  Tensor t = Tensor::from_vector(s, std::move(v));
  t.set_requires_grad(true);
  return t;
}
}  // namespace

TEST_CASE("tape: gradients accumulate across backward calls until zero_grad") {
  const Tensor x = leaf({2}, {1.0f, -2.0f});
  backward(sum(mul(x, 3.0f)));
  CHECK(x.grad().to_vector() == std::vector<float>{3, 3});
  backward(sum(square(x)));  // + 2x
  CHECK(x.grad().to_vector() == std::vector<float>{5, -1});
  x.zero_grad();
  CHECK_FALSE(x.has_grad());
  CHECK_THROWS_AS(x.grad(), std::logic_error);
  backward(sum(mul(x, 3.0f)));
  CHECK(x.grad().to_vector() == std::vector<float>{3, 3});
}

TEST_CASE("tape: a tensor used twice receives both contributions") {
  const Tensor x = leaf({1}, {3.0f});
  backward(sum(add(mul(x, x), x)));  // d(x^2 + x) = 2x + 1
  CHECK(x.grad().item() == 7.0f);
}

TEST_CASE("tape: NoGradGuard records nothing and outputs need no gradient") {
  Tape tape;
  TapeScope scope(tape);
  const Tensor x = leaf({3}, {1, 2, 3});
  {
    NoGradGuard guard;
    CHECK_FALSE(grad_enabled());
    const Tensor y = sum(exp(linear(reshape(x, {1, 3}), Tensor::ones({2, 3}))));
    CHECK_FALSE(y.requires_grad());
    CHECK(tape.size() == 0);
    {
      NoGradGuard nested;
    }
    CHECK_FALSE(grad_enabled());  // the nested guard restored "disabled"
  }
  CHECK(grad_enabled());
  const Tensor z = exp(x);
  CHECK(z.requires_grad());
  CHECK(tape.size() == 1);
}

TEST_CASE("tape: ops on inputs that need no gradient record nothing") {
  Tape tape;
  TapeScope scope(tape);
  const Tensor a = Tensor::ones({2, 2});
  const Tensor y = matmul(add(a, a), a);
  CHECK_FALSE(y.requires_grad());
  CHECK(tape.size() == 0);
}

TEST_CASE("tape: clear releases the nodes; a backward through them then throws") {
  Tape tape;
  TapeScope scope(tape);
  const Tensor x = leaf({2}, {1, 2});
  const Tensor y = sum(square(x));
  CHECK(tape.size() == 2);
  tape.clear();
  CHECK(tape.size() == 0);
  CHECK_THROWS_WITH_AS(backward(y), doctest::Contains("already released"), std::logic_error);
  CHECK_FALSE(x.has_grad());
}

TEST_CASE("tape: TapeScope redirects recording and restores the previous tape") {
  Tape outer, inner;
  TapeScope s1(outer);
  const Tensor x = leaf({2}, {1, 2});
  const Tensor a = exp(x);
  {
    TapeScope s2(inner);
    CHECK(&active_tape() == &inner);
    const Tensor b = exp(x);
    const Tensor c = sum(b);
    CHECK(inner.size() == 2);
    CHECK(outer.size() == 1);
    backward(c);  // releases c's graph, recorded on the inner tape
    CHECK(inner.size() == 0);
    CHECK(outer.size() == 1);
    CHECK(x.grad().data()[1] == doctest::Approx(std::exp(2.0f)));
  }
  CHECK(&active_tape() == &outer);
  CHECK(outer.size() == 1);
}

TEST_CASE("tape: backward seeds and their errors") {
  const Tensor x = leaf({2}, {1, 2});
  const Tensor y = mul(x, 2.0f);
  CHECK_THROWS_WITH_AS(backward(y), doctest::Contains("backward: root has shape [2]; give a seed gradient"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(backward(y, Tensor::ones({3})), doctest::Contains("[2] vs [3]"), std::invalid_argument);
  backward(y, Tensor::from_vector({2}, {1.0f, 10.0f}));
  CHECK(x.grad().to_vector() == std::vector<float>{2, 20});
  CHECK_THROWS_AS(backward(Tensor::ones({1})), std::logic_error);  // no recorded op led to it
  CHECK_THROWS_AS(backward(Tensor()), std::invalid_argument);
}

TEST_CASE("tape: intermediates keep no gradient after backward; backward releases the graph") {
  Tape tape;
  TapeScope scope(tape);
  const Tensor x = leaf({3}, {1, 2, 3});
  const Tensor h = square(x);
  const Tensor y = sum(h);
  backward(y);
  CHECK(x.has_grad());
  CHECK_FALSE(h.has_grad());
  CHECK_FALSE(y.has_grad());
  CHECK(tape.size() == 0);
}

TEST_CASE("tape: a 100k-node chain runs backward without recursion") {
  Tape tape;
  TapeScope scope(tape);
  const Tensor x = leaf({1}, {0.5f});
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = add(mul(y, 1.0f), 0.0f);
  CHECK(tape.size() == 200000);
  backward(sum(y));
  CHECK(x.grad().item() == 1.0f);
  CHECK(tape.size() == 0);
}

TEST_CASE("tape: backward closures that call ops record nothing") {
  // A custom op whose backward is written with ops on a tensor that requires a gradient: run
  // with gradients enabled, it would append to the tape while backward walks it.
  Tape tape;
  TapeScope scope(tape);
  const Tensor x = leaf({3}, {1, 2, 3});
  const Tensor w = leaf({3}, {2, 2, 2});
  Tensor out = Tensor::from_data({3}, x.data());
  record_op(out, {&x, &w}, [x, w](const Tensor& out) {
    const Tensor g = mul(out.grad(), w);
    CHECK_FALSE(g.requires_grad());
    x.accumulate_grad(g);
  });
  for (int i = 0; i < 50; ++i) out = add(out, 1.0f);  // enough nodes that a reallocation would bite
  backward(sum(out));
  CHECK(x.grad().to_vector() == std::vector<float>{2, 2, 2});
  CHECK(tape.size() == 0);
  CHECK(grad_enabled());
}

TEST_CASE("tape: an exception in a backward closure releases the graph") {
  Tape tape;
  TapeScope scope(tape);
  const Tensor x = leaf({1}, {1});
  Tensor out = Tensor::from_data({1}, x.data());
  record_op(out, {&x}, [](const Tensor&) { throw std::runtime_error("broken backward"); });
  const Tensor loss = sum(out);
  CHECK_THROWS_WITH_AS(backward(loss), "broken backward", std::runtime_error);
  CHECK(tape.size() == 0);
  CHECK(grad_enabled());
  CHECK_THROWS_WITH_AS(backward(loss), doctest::Contains("already released"), std::logic_error);
}

// ---- The contract seen from the user (libtorch's): docs/autodiff.md ----

TEST_CASE("tape: a backward runs only its root's graph; another pending graph stays usable") {
  const Tensor w = leaf({1}, {1.0f});
  const Tensor l1 = sum(mul(w, 2.0f));
  const Tensor l2 = sum(mul(w, 3.0f));
  backward(l1);
  CHECK(w.grad().item() == 2.0f);  // l2's nodes did not run
  backward(l2);
  CHECK(w.grad().item() == 5.0f);  // libtorch gives 5 as well
  // In the other order too, and through the member function.
  w.zero_grad();
  const Tensor l3 = sum(mul(w, 2.0f));
  const Tensor l4 = sum(mul(w, 3.0f));
  l4.backward();
  CHECK(w.grad().item() == 3.0f);
  l3.backward();
  CHECK(w.grad().item() == 5.0f);
}

TEST_CASE("tape: a second backward through a released graph throws; retain_graph keeps it") {
  const Tensor w = leaf({2}, {1.0f, 2.0f});
  const Tensor h = square(w);
  const Tensor l = sum(h);
  backward(l);
  CHECK(w.grad().to_vector() == std::vector<float>{2, 4});
  CHECK_THROWS_WITH_AS(backward(l), doctest::Contains("already released"), std::logic_error);
  // A new graph that reaches a released node (h) throws too, and changes no gradient.
  const Tensor l2 = sum(mul(h, 3.0f));
  CHECK_THROWS_WITH_AS(backward(l2), doctest::Contains("already released"), std::logic_error);
  CHECK(w.grad().to_vector() == std::vector<float>{2, 4});

  w.zero_grad();
  const Tensor k = sum(square(w));
  backward(k, BackwardOptions().retain_graph(true));
  k.backward(Tensor(), BackwardOptions().retain_graph(true));
  CHECK(w.grad().to_vector() == std::vector<float>{4, 8});
  backward(k);  // the last one releases
  CHECK(w.grad().to_vector() == std::vector<float>{6, 12});
  CHECK_THROWS_AS(backward(k), std::logic_error);
}

TEST_CASE("tape: shared subgraphs: two losses over one intermediate") {
  // retain_graph on the first backward lets the second run through the shared part.
  const Tensor w = leaf({1}, {2.0f});
  const Tensor h = square(w);        // dh/dw = 4
  const Tensor l1 = sum(mul(h, 1.0f));
  const Tensor l2 = sum(mul(h, 10.0f));
  backward(l1, BackwardOptions().retain_graph(true));
  CHECK(w.grad().item() == 4.0f);
  backward(l2);
  CHECK(w.grad().item() == 44.0f);
}

TEST_CASE("tape: forwards without backward do not pile up (1000 forwards, tape size flat)") {
  Tape tape;
  TapeScope scope(tape);
  const Tensor w = leaf({64, 64}, std::vector<float>(64 * 64, 0.01f));
  const Tensor x = Tensor::ones({16, 64});
  size_t largest = 0;
  for (int i = 0; i < 1000; ++i) {
    const Tensor loss = sum(tanh(matmul(x, w)));  // 3 nodes, dropped with `loss`
    largest = std::max(largest, tape.size());
  }
  CHECK(largest == 3);
  CHECK(tape.size() == 0);
  // A kept graph stays usable among dropped ones.
  const Tensor kept = sum(matmul(x, w));
  for (int i = 0; i < 100; ++i) (void)sum(tanh(matmul(x, w)));
  CHECK(tape.size() == 2);
  backward(kept);
  CHECK(w.grad().at({0, 0}) == 16.0f);
}

TEST_CASE("tape: a dropped graph frees what its closures held") {
  const Tensor w = leaf({1000}, std::vector<float>(1000, 1.0f));
  std::weak_ptr<GradNode> node;
  {
    const Tensor y = sum(exp(w));
    node = y.grad_fn();
    CHECK_FALSE(node.expired());
  }
  CHECK(node.expired());
}

TEST_CASE("tape: a 200k-node graph dropped without backward is freed without recursion") {
  const Tensor x = leaf({1}, {0.5f});
  {
    Tensor y = x;
    for (int i = 0; i < 100000; ++i) y = add(mul(y, 1.0f), 0.0f);
  }  // a recursive free of this chain would overflow the stack
  CHECK(x.requires_grad());
}

TEST_CASE("tape: grad_fn, is_leaf and backward from a leaf") {
  const Tensor x = leaf({1}, {3.0f});
  CHECK(x.is_leaf());
  const Tensor y = mul(x, 2.0f);
  CHECK_FALSE(y.is_leaf());
  CHECK(y.grad_fn() != nullptr);
  CHECK(y.detach().is_leaf());
  CHECK_FALSE(y.detach().requires_grad());
  x.backward();  // a leaf root: its gradient is the seed
  CHECK(x.grad().item() == 1.0f);
}
