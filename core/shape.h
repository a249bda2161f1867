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
// Product of the dimensions; 1 for rank 0. Throws std::invalid_argument naming the shape when a
// dimension is negative or the product does not fit int64 (shapes read from files can be anything).
Index shape_numel(const Shape& shape);
// The product a * b, or throws std::invalid_argument naming `what` when it overflows int64 or
// either factor is negative. For size arithmetic on values read from files.
Index checked_mul(Index a, Index b, const std::string& what);
// Throws std::invalid_argument naming `what` when a dimension is negative.
void validate_shape(const Shape& shape, const std::string& what);

}  // namespace lagrad
