#include "core/tensor.h"

#include <algorithm>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include "core/grad_sink.h"
#include "core/tape.h"

namespace lagrad {

namespace {
const Shape kNoShape;
const std::string kNoName;

TensorImpl& require(const std::shared_ptr<TensorImpl>& impl, const char* what) {
  if (!impl) throw std::logic_error(std::string("Tensor::") + what + ": tensor is undefined");
  return *impl;
}
}  // namespace

Tensor::Tensor(Shape shape) : impl_(std::make_shared<TensorImpl>()) {
  validate_shape(shape, "Tensor");
  impl_->storage = std::make_shared<Storage>(static_cast<size_t>(shape_numel(shape)), 0.0f);
  impl_->shape = std::move(shape);
}

Tensor Tensor::zeros(const Shape& shape) { return Tensor(shape); }
Tensor Tensor::ones(const Shape& shape) { return full(shape, 1.0f); }
Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t(shape);
  std::fill(t.impl_->storage->begin(), t.impl_->storage->end(), value);
  return t;
}
Tensor Tensor::scalar(float value) { return full({}, value); }

Tensor Tensor::from_vector(const Shape& shape, std::vector<float> values) {
  if (static_cast<Index>(values.size()) != shape_numel(shape))
    throw std::invalid_argument("Tensor::from_vector: shape " + shape_str(shape) + " holds " +
                                std::to_string(shape_numel(shape)) + " values, got " +
                                std::to_string(values.size()));
  return from_data(shape, values.data());
}

Tensor Tensor::from_data(const Shape& shape, const float* values) {
  Tensor t(shape);
  std::copy(values, values + t.numel(), t.impl_->storage->begin());
  return t;
}

const Shape& Tensor::shape() const { return impl_ ? impl_->shape : kNoShape; }

Index Tensor::dim(int axis) const {
  const int r = rank();
  const int a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r)
    throw std::invalid_argument("Tensor::dim: axis " + std::to_string(axis) + " out of range for shape " +
                                shape_str(shape()));
  return shape()[a];
}

Index Tensor::numel() const { return impl_ ? static_cast<Index>(impl_->storage->size()) : 0; }

float* Tensor::data() const { return require(impl_, "data").storage->data(); }

float Tensor::item() const {
  if (numel() != 1)
    throw std::invalid_argument("Tensor::item: expected one element, got shape " + shape_str(shape()));
  return (*impl_->storage)[0];
}

float Tensor::at(std::initializer_list<Index> idx) const {
  const Shape& s = shape();
  if (idx.size() != s.size())
    throw std::invalid_argument("Tensor::at: " + std::to_string(idx.size()) + " indices for shape " + shape_str(s));
  Index flat = 0;
  size_t k = 0;
  for (Index i : idx) {
    if (i < 0 || i >= s[k])
      throw std::out_of_range("Tensor::at: index " + std::to_string(i) + " out of range on axis " +
                              std::to_string(k) + " of shape " + shape_str(s));
    flat = flat * s[k] + i;
    ++k;
  }
  return (*impl_->storage)[static_cast<size_t>(flat)];
}

std::vector<float> Tensor::to_vector() const {
  if (!impl_) return {};
  return std::vector<float>(impl_->storage->begin(), impl_->storage->end());
}

MatrixMap Tensor::matrix() const {
  TensorImpl& t = require(impl_, "matrix");
  if (t.shape.size() > 2)
    throw std::invalid_argument("Tensor::matrix: expected rank <= 2, got shape " + shape_str(t.shape));
  const Index rows = t.shape.size() == 2 ? t.shape[0] : 1;
  const Index cols = t.shape.size() == 2 ? t.shape[1] : (t.shape.size() == 1 ? t.shape[0] : 1);
  return MatrixMap(t.storage->data(), rows, cols);
}

VectorMap Tensor::vec() const {
  TensorImpl& t = require(impl_, "vec");
  return VectorMap(t.storage->data(), static_cast<Index>(t.storage->size()));
}

void Tensor::backward() const { lagrad::backward(*this); }
void Tensor::backward(const Tensor& seed) const { lagrad::backward(*this, seed); }
void Tensor::backward(const Tensor& seed, const BackwardOptions& options) const {
  lagrad::backward(*this, seed, options);
}
void Tensor::backward(const BackwardOptions& options) const { lagrad::backward(*this, Tensor(), options); }

const std::shared_ptr<GradNode>& Tensor::grad_fn() const {
  static const std::shared_ptr<GradNode> kNone;
  return impl_ ? impl_->grad_fn : kNone;
}

bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }

const Tensor& Tensor::set_requires_grad(bool on) const {
  require(impl_, "set_requires_grad").requires_grad = on;
  return *this;
}

bool Tensor::has_grad() const { return impl_ && impl_->grad; }

const Tensor& Tensor::grad() const {
  if (!has_grad())
    throw std::logic_error("Tensor::grad: no gradient" + (name().empty() ? std::string() : " for '" + name() + "'") +
                           " (backward has not reached it, or it was zeroed)");
  return *impl_->grad;
}

Tensor& Tensor::mutable_grad() const {
  TensorImpl& t = require(impl_, "mutable_grad");
  if (!t.grad_fn)
    if (GradSink* sink = active_grad_sink()) return sink->buffer(*this);  // a task's private buffer
  if (!t.grad) t.grad = std::make_unique<Tensor>(t.shape);
  return *t.grad;
}

void Tensor::zero_grad() const {
  if (impl_) impl_->grad.reset();
}

void Tensor::accumulate_grad(const Tensor& g) const {
  TensorImpl& t = require(impl_, "accumulate_grad");
  if (g.shape() != t.shape)
    throw std::invalid_argument("accumulate_grad: gradient of shape " + shape_str(g.shape()) +
                                " for a tensor of shape " + shape_str(t.shape) +
                                (t.name.empty() ? std::string() : " ('" + t.name + "')"));
  if (!t.grad_fn)
    if (GradSink* sink = active_grad_sink()) {  // a task's private buffer (zero-filled: add)
      sink->buffer(*this).vec() += g.vec();
      return;
    }
  if (!t.grad) {
    t.grad = std::make_unique<Tensor>(g.clone());
    return;
  }
  t.grad->vec() += g.vec();
}

Tensor Tensor::detach() const { return view(shape()); }

Tensor Tensor::view(const Shape& new_shape) const {
  TensorImpl& src = require(impl_, "view");
  if (shape_numel(new_shape) != static_cast<Index>(src.storage->size()))
    throw std::invalid_argument("Tensor::view: cannot view shape " + shape_str(src.shape) + " as " +
                                shape_str(new_shape));
  Tensor t;
  t.impl_ = std::make_shared<TensorImpl>();
  t.impl_->shape = new_shape;
  t.impl_->storage = src.storage;
  t.impl_->name = src.name;
  return t;
}

Tensor Tensor::clone() const {
  if (!impl_) return Tensor();
  Tensor t;
  t.impl_ = std::make_shared<TensorImpl>();
  t.impl_->shape = impl_->shape;
  t.impl_->storage = std::make_shared<Storage>(*impl_->storage);
  t.impl_->name = impl_->name;
  return t;
}

void Tensor::copy_from(const Tensor& other) {
  check_same_shape("Tensor::copy_from", *this, other);
  std::copy(other.impl_->storage->begin(), other.impl_->storage->end(), impl_->storage->begin());
}

const std::string& Tensor::name() const { return impl_ ? impl_->name : kNoName; }

Tensor& Tensor::set_name(std::string name) {
  require(impl_, "set_name").name = std::move(name);
  return *this;
}

namespace {
// Writes axis `axis` of the block starting at `offset` (elements per step: `stride`), numpy
// style: nested brackets, at most 3 + 3 entries of a long axis with "..." between.
void print_axis(std::ostream& os, const float* v, const Shape& s, size_t axis, Index offset, Index stride,
                int indent) {
  constexpr Index kEdge = 3;
  const Index n = s[axis];
  const Index inner = stride / (n > 0 ? n : 1);
  os << '[';
  for (Index i = 0; i < n; ++i) {
    if (n > 2 * kEdge + 1 && i == kEdge) {
      os << (axis + 1 == s.size() ? "..., " : "...,\n" + std::string(static_cast<size_t>(indent + 1), ' '));
      i = n - kEdge - 1;
      continue;
    }
    if (axis + 1 == s.size()) {
      os << v[offset + i];
    } else {
      print_axis(os, v, s, axis + 1, offset + i * inner, inner, indent + 1);
    }
    if (i + 1 < n) os << (axis + 1 == s.size() ? ", " : ",\n" + std::string(static_cast<size_t>(indent + 1), ' '));
  }
  os << ']';
}
}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "Tensor (undefined)";
  os << "Tensor " << shape_str(t.shape());
  if (!t.name().empty()) os << " '" << t.name() << "'";
  if (t.grad_fn()) {
    os << " (grad_fn)";
  } else if (t.requires_grad()) {
    os << " (requires_grad)";
  }
  os << '\n';
  if (t.rank() == 0) return os << t.item();
  print_axis(os, t.data(), t.shape(), 0, 0, t.numel(), 0);
  return os;
}

void check_same_shape(const std::string& op, const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    throw std::invalid_argument(op + ": shapes differ: " + shape_str(a.shape()) + " vs " + shape_str(b.shape()));
}

}  // namespace lagrad
