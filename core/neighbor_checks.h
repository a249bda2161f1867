#pragma once
// Input validation shared by the neighbor search entry points (internal to core).
// Each check throws std::invalid_argument naming the function, the argument and the bad value.
#include <string>

#include "shape.h"

namespace lagrad {

// Shortest readable form of a float for messages ("0.1", "-1", "nan").
std::string format_float(float v);

// count >= 0 and below 2^32 (indices are stored as 32-bit in the index).
void check_count(const char* fn, const char* name, Index count);
// Non-null when count > 0, and every coordinate finite (names the first bad point).
void check_points(const char* fn, const char* name, const float* points, Index count);
// Finite and >= 0.
void check_radius(const char* fn, const char* name, float radius);
// Each radii[i] finite and >= 0 (names the first bad index); returns the largest.
float check_radii(const char* fn, const char* name, const float* radii, Index count);

}  // namespace lagrad
