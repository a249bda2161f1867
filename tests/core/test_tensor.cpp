// Tensor: construction, handle semantics, views, gradient buffer rules, error messages.
#include <doctest/doctest.h>

#include "core/tensor.h"

using namespace lagrad;

TEST_CASE("tensor: constructors and shape queries") {
  const Tensor z = Tensor::zeros({2, 3});
  CHECK(z.shape() == Shape({2, 3}));
  CHECK(z.rank() == 2);
  CHECK(z.numel() == 6);
  CHECK(z.dim(-1) == 3);
  CHECK(z.to_vector() == std::vector<float>(6, 0.0f));
  CHECK(Tensor::ones({2}).to_vector() == std::vector<float>{1, 1});
  CHECK(Tensor::full({3}, 2.5f).to_vector() == std::vector<float>{2.5f, 2.5f, 2.5f});
  const Tensor s = Tensor::scalar(4.0f);
  CHECK(s.rank() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.item() == 4.0f);
  const Tensor v = Tensor::from_vector({2, 2}, {1, 2, 3, 4});
  CHECK(v.at({1, 0}) == 3.0f);
  CHECK_FALSE(Tensor().defined());
  CHECK(Tensor().numel() == 0);
}

TEST_CASE("tensor: errors say what was expected") {
  CHECK_THROWS_WITH_AS(Tensor::from_vector({2, 2}, {1, 2, 3}),
                       doctest::Contains("Tensor::from_vector: shape [2, 2] holds 4 values, got 3"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Tensor({2, -1}), doctest::Contains("negative dimension in shape [2, -1]"), std::invalid_argument);
  const Tensor t = Tensor::zeros({2, 3});
  CHECK_THROWS_WITH_AS(t.dim(2), doctest::Contains("axis 2 out of range for shape [2, 3]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(t.item(), doctest::Contains("expected one element, got shape [2, 3]"), std::invalid_argument);
  CHECK_THROWS_AS(t.at({2, 0}), std::out_of_range);
  CHECK_THROWS_AS(Tensor::zeros({2, 2, 2}).matrix(), std::invalid_argument);
  CHECK_THROWS_AS(Tensor().data(), std::logic_error);
}

TEST_CASE("tensor: handles share numbers; clone copies; view and detach share") {
  const Tensor a = Tensor::from_vector({2, 2}, {1, 2, 3, 4});
  const Tensor b = a;
  b.data()[0] = 9.0f;
  CHECK(a.data()[0] == 9.0f);
  const Tensor c = a.clone();
  c.data()[1] = -1.0f;
  CHECK(a.data()[1] == 2.0f);
  const Tensor v = a.view({4});
  v.data()[3] = 7.0f;
  CHECK(a.at({1, 1}) == 7.0f);
  CHECK_THROWS_WITH_AS(a.view({3}), doctest::Contains("cannot view shape [2, 2] as [3]"), std::invalid_argument);
  a.set_requires_grad(true);
  const Tensor d = a.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.data() == a.data());
  CHECK(a.matrix()(1, 0) == 3.0f);
  CHECK(a.matrix().data() == a.data());  // zero-copy
  Tensor e = Tensor::zeros({2, 2});
  e.copy_from(a);
  CHECK(e.to_vector() == a.to_vector());
  CHECK_THROWS_AS(e.copy_from(Tensor::zeros({4})), std::invalid_argument);
}

TEST_CASE("tensor: gradient buffer: set on first write, add afterwards, shapes checked") {
  Tensor x = Tensor::zeros({2});
  x.set_requires_grad(true);
  x.set_name("w");
  CHECK_FALSE(x.has_grad());
  CHECK_THROWS_WITH_AS(x.grad(), doctest::Contains("no gradient for 'w'"), std::logic_error);
  const Tensor g = Tensor::from_vector({2}, {1, 2});
  x.accumulate_grad(g);
  g.data()[0] = 100.0f;  // the gradient is a copy, not the caller's buffer
  CHECK(x.grad().to_vector() == std::vector<float>{1, 2});
  x.accumulate_grad(Tensor::from_vector({2}, {10, 20}));
  CHECK(x.grad().to_vector() == std::vector<float>{11, 22});
  CHECK_THROWS_WITH_AS(x.accumulate_grad(Tensor::zeros({3})),
                       doctest::Contains("accumulate_grad: gradient of shape [3] for a tensor of shape [2] ('w')"),
                       std::invalid_argument);
  x.zero_grad();
  CHECK_FALSE(x.has_grad());
  CHECK(x.mutable_grad().to_vector() == std::vector<float>{0, 0});
}
