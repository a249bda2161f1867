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

Index shape_numel(const Shape& shape) {
  Index n = 1;
  for (Index d : shape) n *= d;
  return n;
}

void validate_shape(const Shape& shape, const std::string& what) {
  for (Index d : shape)
    if (d < 0) throw std::invalid_argument(what + ": negative dimension in shape " + shape_str(shape));
}

}  // namespace lagrad
