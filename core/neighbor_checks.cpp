#include "core/neighbor_checks.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "core/parallel.h"

namespace lagrad {

namespace {

constexpr Index kMaxCount = Index(std::numeric_limits<std::uint32_t>::max());

// Smallest i in [0, n) with bad(i), or -1; deterministic for any thread count.
template <class Bad>
Index first_bad(Index n, Bad&& bad) {
  return deterministic_reduce(
      n, 1 << 16, Index(-1),
      [&](Index, Index b, Index e) {
        for (Index i = b; i < e; ++i)
          if (bad(i)) return i;
        return Index(-1);
      },
      [](Index acc, Index part) { return acc >= 0 ? acc : part; });
}

}  // namespace

std::string format_float(float v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

void check_count(const char* fn, const char* name, Index count) {
  if (count < 0 || count > kMaxCount)
    throw std::invalid_argument(std::string(fn) + ": " + name + " must be in [0, 2^32 - 1], got " +
                                std::to_string(count));
}

void check_points(const char* fn, const char* name, const float* points, Index count) {
  if (count > 0 && points == nullptr)
    throw std::invalid_argument(std::string(fn) + ": " + name + " is null but holds " +
                                std::to_string(count) + " points");
  const Index bad = first_bad(count, [&](Index i) {
    const float* p = points + 3 * i;
    return !(std::isfinite(p[0]) && std::isfinite(p[1]) && std::isfinite(p[2]));
  });
  if (bad >= 0) {
    const float* p = points + 3 * bad;
    throw std::invalid_argument(std::string(fn) + ": " + name + "[" + std::to_string(bad) +
                                "] must be finite, got (" + format_float(p[0]) + ", " + format_float(p[1]) + ", " +
                                format_float(p[2]) + ")");
  }
}

void check_radius(const char* fn, const char* name, float radius) {
  if (!(std::isfinite(radius) && radius >= 0))
    throw std::invalid_argument(std::string(fn) + ": " + name + " must be finite and >= 0, got " +
                                format_float(radius));
}

float check_radii(const char* fn, const char* name, const float* radii, Index count) {
  if (count > 0 && radii == nullptr)
    throw std::invalid_argument(std::string(fn) + ": " + name + " is null but " +
                                std::to_string(count) + " radii are expected");
  const Index bad = first_bad(count, [&](Index i) { return !(std::isfinite(radii[i]) && radii[i] >= 0); });
  if (bad >= 0)
    throw std::invalid_argument(std::string(fn) + ": " + name + "[" + std::to_string(bad) +
                                "] must be finite and >= 0, got " + format_float(radii[bad]));
  float mx = 0;
  for (Index i = 0; i < count; ++i) mx = std::max(mx, radii[i]);
  return mx;
}

}  // namespace lagrad
