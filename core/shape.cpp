#include "core/shape.h"

#include <stdexcept>

namespace lagrad {

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Index checked_mul(Index a, Index b, const std::string& what) {
  Index r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r))
    throw std::invalid_argument(what + ": size " + std::to_string(a) + " * " + std::to_string(b) +
                                (a < 0 || b < 0 ? " is negative" : " overflows int64"));
  return r;
}

Index shape_numel(const Shape& shape) {
  Index n = 1;
  for (Index d : shape) {
    if (d < 0) throw std::invalid_argument("shape " + shape_str(shape) + " has a negative dimension");
    if (__builtin_mul_overflow(n, d, &n))
      throw std::invalid_argument("shape " + shape_str(shape) + " has more than 2^63 elements");
  }
  return n;
}

void validate_shape(const Shape& shape, const std::string& what) {
  for (Index d : shape)
    if (d < 0) throw std::invalid_argument(what + ": negative dimension in shape " + shape_str(shape));
}

}  // namespace lagrad
