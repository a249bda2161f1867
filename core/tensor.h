#pragma once
// Tensor: a float32, contiguous, row-major array with an optional gradient.
//
// A Tensor is a handle (a shared pointer): copying it is cheap and both copies see the same
// data. `clone()` copies the numbers. Ops never modify their inputs.
#include <Eigen/Core>
#include <iosfwd>
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
struct GradNode;
class BackwardOptions;
namespace detail {
struct TensorAccess;
}

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor: defined() is false
  explicit Tensor(Shape shape);  // zero-filled

  static Tensor zeros(const Shape& shape);
  static Tensor ones(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor scalar(float value);  // rank 0
  static Tensor from_vector(const Shape& shape, std::vector<float> values);
  // Copies numel(shape) floats, read in row-major (C) order. A column-major Eigen matrix's
  // data() is NOT in that order: pass the matrix itself to from_eigen instead.
  static Tensor from_data(const Shape& shape, const float* values);
  // Copies any Eigen matrix or expression (column- or row-major, a block, a map) into a
  // [rows, cols] tensor element by element, so m(i, j) == t.at({i, j}) whatever the storage order.
  template <class Derived>
  static Tensor from_eigen(const Eigen::DenseBase<Derived>& m);

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
  // backward() is lagrad::backward(*this, ...) (core/tape.h): libtorch's loss.backward().
  void backward() const;
  void backward(const Tensor& seed) const;
  void backward(const Tensor& seed, const BackwardOptions& options) const;
  void backward(const BackwardOptions& options) const;
  // The node of the op that produced this tensor (null for leaves and after detach()).
  const std::shared_ptr<GradNode>& grad_fn() const;
  bool is_leaf() const { return !grad_fn(); }
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
  friend struct detail::TensorAccess;  // the tape links nodes and outputs
  std::shared_ptr<TensorImpl> impl_;
};

// Prints the shape, whether it requires a gradient, and the values (nested brackets by axis;
// long axes are shortened to their first and last 3 entries), like libtorch's operator<<.
std::ostream& operator<<(std::ostream& os, const Tensor& t);

using Storage = std::vector<float, Eigen::aligned_allocator<float>>;

struct TensorImpl {
  Shape shape;
  std::shared_ptr<Storage> storage;  // shared by detach() and reshape views
  std::unique_ptr<Tensor> grad;
  std::shared_ptr<GradNode> grad_fn;  // set by record_op on op outputs; owns the history
  bool requires_grad = false;
  std::string name;
};

template <class Derived>
Tensor Tensor::from_eigen(const Eigen::DenseBase<Derived>& m) {
  Tensor t({static_cast<Index>(m.rows()), static_cast<Index>(m.cols())});
  t.matrix() = m.template cast<float>();  // element-wise assignment: storage order is honoured
  return t;
}

// Throws std::invalid_argument "op: expected <what> shape A, got B" when shapes differ.
void check_same_shape(const std::string& op, const Tensor& a, const Tensor& b);

}  // namespace lagrad
