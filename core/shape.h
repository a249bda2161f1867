#pragma once
// Tensor shapes and the helpers that format them for error messages.
#include <cstdint>
#include <string>
#include <vector>

namespace lagrad {

using Index = std::int64_t;
using Shape = std::vector<Index>;
// Index arrays (neighbor lists, row splits, gathered rows) are plain int64 vectors.
using IndexVector = std::vector<Index>;

// "[3, 4]"
std::string shape_str(const Shape& shape);
// Product of the dimensions; 1 for rank 0.
Index shape_numel(const Shape& shape);
// Throws std::invalid_argument naming `what` when a dimension is negative.
void validate_shape(const Shape& shape, const std::string& what);

}  // namespace lagrad
