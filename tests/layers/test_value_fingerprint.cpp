// value_fingerprint: equal bytes give equal fingerprints; any flipped bit, a shorter prefix or a
// tail that is not a whole lane changes it.
#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <vector>

#include "layers/value_fingerprint.h"

namespace lagrad {
namespace {

TEST_CASE("value_fingerprint: equal bytes agree, every flipped bit and every length differ") {
  std::vector<unsigned char> a(77);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<unsigned char>(i * 37 + 11);
  const std::vector<unsigned char> copy = a;
  CHECK(value_fingerprint(a.data(), a.size()) == value_fingerprint(copy.data(), copy.size()));
  std::set<std::uint64_t> seen{value_fingerprint(a.data(), a.size())};
  for (size_t byte = 0; byte < a.size(); ++byte)
    for (int bit = 0; bit < 8; ++bit) {
      a[byte] ^= static_cast<unsigned char>(1u << bit);
      seen.insert(value_fingerprint(a.data(), a.size()));
      a[byte] ^= static_cast<unsigned char>(1u << bit);
    }
  CHECK(seen.size() == 1 + 8 * a.size());
  // Prefixes: the lanes (32 bytes), the words (8) and the bytes all count.
  for (size_t n = 0; n < a.size(); ++n) seen.insert(value_fingerprint(a.data(), n));
  CHECK(seen.size() == 1 + 9 * a.size());
}

}  // namespace
}  // namespace lagrad
