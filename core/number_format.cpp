#include "core/number_format.h"

#include <charconv>
#include <cmath>

namespace lagrad {

namespace {

template <class T>
std::string shortest(T v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // no precision: shortest round trip
  return std::string(buf, r.ptr);
}

}  // namespace

std::string shortest_float(float v) { return shortest(v); }
std::string shortest_double(double v) { return shortest(v); }

}  // namespace lagrad
