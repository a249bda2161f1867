#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/number_format.h"

using namespace lagrad;

TEST_CASE("number_format: floats and doubles as typed, and they read back the same") {
  CHECK(shortest_float(0.025f) == "0.025");
  CHECK(shortest_float(1.0f / 50.0f) == "0.02");
  CHECK(shortest_float(-9.81f) == "-9.81");
  CHECK(shortest_float(1e-6f) == "1e-06");
  CHECK(shortest_float(0.001f) == "0.001");
  CHECK(shortest_float(3.0f) == "3");
  CHECK(shortest_double(0.1) == "0.1");
  CHECK(shortest_double(static_cast<double>(0.1f)) == "0.10000000149011612");
  CHECK(shortest_float(std::nanf("")) == "nan");
  CHECK(shortest_float(-std::numeric_limits<float>::infinity()) == "-inf");
  for (float v : {0.1f, 1.0f / 3.0f, 123456.789f, 1e-30f, 3.4e38f, -0.0f})
    CHECK(std::strtof(shortest_float(v).c_str(), nullptr) == v);
}
