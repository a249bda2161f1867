#pragma once
// Numbers written as text (YAML, JSON, logs) so that they read back as typed: the shortest
// decimal that parses back to the same value (0.025f -> "0.025", not "0.0250000004").
#include <string>

namespace lagrad {

// Shortest round-trip form of a float ("0.025", "1e-06", "-9.81"); "nan", "inf", "-inf" for
// non-finite values.
std::string shortest_float(float v);
// The same for a double.
std::string shortest_double(double v);

}  // namespace lagrad
