#include "core/random.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace lagrad {

float Rng::uniform() {
  // 24 random bits -> exactly representable float in [0, 1).
  return static_cast<float>(engine_() >> 40) * (1.0f / 16777216.0f);
}

float Rng::uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }

float Rng::normal(float mean, float stddev) {
  // Two uniforms in (0, 1] and [0, 1) in double for accuracy in the tails.
  const double u1 = (static_cast<double>(engine_() >> 11) + 1.0) * (1.0 / 9007199254740992.0);
  const double u2 = static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);
  const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  return mean + stddev * static_cast<float>(z);
}

std::uint64_t Rng::below(std::uint64_t n) {
  if (n == 0) throw std::invalid_argument("Rng::below: n must be positive");
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t x;
  do x = engine_();
  while (x >= limit);
  return x % n;
}

std::string Rng::state() const {
  std::ostringstream os;
  os << engine_;
  return os.str();
}

void Rng::set_state(const std::string& s) {
  std::istringstream is(s);
  std::mt19937_64 e;
  is >> e;
  if (is.fail()) throw std::invalid_argument("Rng::set_state: malformed generator state");
  engine_ = e;
}

}  // namespace lagrad

namespace lagrad {
Rng& global_rng() {
  static Rng rng(0);
  return rng;
}
void manual_seed(std::uint64_t seed) { global_rng() = Rng(seed); }
}  // namespace lagrad
