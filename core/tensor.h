#pragma once
// Tensor: a float32, contiguous, row-major array with an optional gradient.
//
// A Tensor is a handle (a shared pointer): copying it is cheap and both copies see the same
// data. `clone()` copies the numbers. Ops never modify their inputs.
#include <Eigen/Core>
#include <memory>
#include <string>
#include <vector>

#include "shape.h"

namespace lagrad {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<RowMatrix>;
using ConstMatrixMap = Eigen::Map<const RowMatrix>;
using VectorMap = Eigen::Map<Eigen::VectorXf>;
using ConstVectorMap = Eigen::Map<const Eigen::VectorXf>;

struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor: defined() is false
  explicit Tensor(Shape shape);  // zero-filled

  static Tensor zeros(const Shape& shape);
  static Tensor ones(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor scalar(float value);  // rank 0
  static Tensor from_vector(const Shape& shape, std::vector<float> values);
  static Tensor from_data(const Shape& shape, const float* values);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int rank() const { return static_cast<int>(shape().size()); }
  Index dim(int axis) const;  // negative axes count from the end
  Index numel() const;

  // Handle semantics: a const Tensor still gives write access to its (shared) numbers.
  float* data() const;
  float item() const;  // the single value of a one-element tensor
  float at(std::initializer_list<Index> idx) const;
  std::vector<float> to_vector() const;

  // Zero-copy Eigen views. matrix(): rank 2 as [rows, cols], rank 1 as [1, n], rank 0 as [1, 1].
  MatrixMap matrix() const;
  VectorMap vec() const;

  // Autodiff. A leaf with requires_grad gets gradients accumulated into grad() by backward().
  bool requires_grad() const;
  const Tensor& set_requires_grad(bool on = true) const;
  bool has_grad() const;
  const Tensor& grad() const;  // throws std::logic_error before any backward reached it
  Tensor& mutable_grad() const;  // the gradient buffer, created (zeros) if missing
  void zero_grad() const;      // drops the gradient: the next backward sets it
  // Adds g to the gradient (set on first write). Throws naming both shapes on mismatch.
  void accumulate_grad(const Tensor& g) const;

  Tensor detach() const;  // shares the numbers; no gradient, no history
  Tensor view(const Shape& shape) const;  // shares the numbers under another shape, no history
  Tensor clone() const;   // copied data, no gradient, no history
  void copy_from(const Tensor& other);  // copies numbers in place; shapes must match

  const std::string& name() const;  // optional, used in error messages
  Tensor& set_name(std::string name);

  TensorImpl* impl() const { return impl_.get(); }
  bool same_as(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

using Storage = std::vector<float, Eigen::aligned_allocator<float>>;

struct TensorImpl {
  Shape shape;
  std::shared_ptr<Storage> storage;  // shared by detach() and reshape views
  std::unique_ptr<Tensor> grad;
  bool requires_grad = false;
  std::string name;
};

// Throws std::invalid_argument "op: expected <what> shape A, got B" when shapes differ.
void check_same_shape(const std::string& op, const Tensor& a, const Tensor& b);

}  // namespace lagrad
