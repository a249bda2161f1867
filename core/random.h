#pragma once
// Seeded random numbers with portable results: the same seed gives the same numbers with any
// compiler and standard library (the distributions are written here, not taken from <random>),
// and the whole state round-trips through a string for checkpoints.
#include <cstdint>
#include <random>
#include <string>

namespace lagrad {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : engine_(seed) {}
  std::uint64_t next_u64() { return engine_(); }
  float uniform();                     // [0, 1)
  float uniform(float lo, float hi);   // [lo, hi)
  float normal(float mean = 0.0f, float stddev = 1.0f);  // Box-Muller, no cached pair
  std::uint64_t below(std::uint64_t n);  // [0, n), unbiased
  std::string state() const;
  void set_state(const std::string& s);  // throws std::invalid_argument on a malformed state

 private:
  std::mt19937_64 engine_;
};

}  // namespace lagrad

namespace lagrad {
// The process-wide generator used by parameter initializers; seed it for reproducible models.
Rng& global_rng();
void manual_seed(std::uint64_t seed);
}  // namespace lagrad
