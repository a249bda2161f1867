// Tensor: construction, handle semantics, views, gradient buffer rules, error messages.
#include <doctest/doctest.h>

#include <sstream>

#include "core/ops.h"
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

TEST_CASE("Tensor::from_eigen copies any storage order element by element") {
  Eigen::MatrixXf col(2, 3);  // column-major: data() is 1 4 2 5 3 6
  col << 1, 2, 3, 4, 5, 6;
  const Tensor t = Tensor::from_eigen(col);
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(t.at({1, 0}) == 4.0f);
  const Tensor r = Tensor::from_eigen(RowMatrix(col));
  CHECK(r.to_vector() == t.to_vector());
  const Tensor block = Tensor::from_eigen(col.block(0, 1, 2, 2));
  CHECK(block.to_vector() == std::vector<float>{2, 3, 5, 6});
  const Tensor d = Tensor::from_eigen(Eigen::MatrixXd::Identity(2, 2));
  CHECK(d.to_vector() == std::vector<float>{1, 0, 0, 1});
  // from_data reads raw row-major numbers: given a column-major buffer it reads it as such.
  CHECK(Tensor::from_data({2, 3}, col.data()).to_vector() == std::vector<float>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("Tensor operator<< prints shape, grad state and values, shortening long axes") {
  std::ostringstream os;
  os << Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6.5f});
  CHECK(os.str() == "Tensor [2, 3]\n[[1, 2, 3],\n [4, 5, 6.5]]");
  os.str("");
  std::vector<float> v(20);
  for (int i = 0; i < 20; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i);
  const Tensor w = Tensor::from_vector({20}, v).set_name("w");
  w.set_requires_grad();
  os << w;
  CHECK(os.str() == "Tensor [20] 'w' (requires_grad)\n[0, 1, 2, ..., 17, 18, 19]");
  os.str("");
  os << mul(w, 2.0f).view({20});  // a view has no history
  CHECK(os.str().rfind("Tensor [20]\n[0, 2, 4, ..., 34, 36, 38]", 0) == 0);
  os.str("");
  os << sum(w);
  CHECK(os.str() == "Tensor [] (grad_fn)\n190");
  os.str("");
  os << Tensor();
  CHECK(os.str() == "Tensor (undefined)");
}
