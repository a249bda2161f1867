// xxHash64's structure (four independent lanes of multiply-rotate rounds, then an avalanche):
// the lanes keep the multipliers busy, so hashing runs near memory speed.
#include "layers/value_fingerprint.h"

#include <cstring>

namespace lagrad {

namespace {

constexpr std::uint64_t P1 = 0x9E3779B185EBCA87ull, P2 = 0xC2B2AE3D27D4EB4Full, P3 = 0x165667B19E3779F9ull,
                        P4 = 0x85EBCA77C2B2AE63ull, P5 = 0x27D4EB2F165667C5ull;

std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
std::uint64_t round(std::uint64_t acc, std::uint64_t w) { return rotl(acc + w * P2, 31) * P1; }
std::uint64_t merge(std::uint64_t h, std::uint64_t lane) { return (h ^ round(0, lane)) * P1 + P4; }
std::uint64_t word(const unsigned char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

}  // namespace

std::uint64_t value_fingerprint(const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  const unsigned char* const end = p + size;
  std::uint64_t h;
  if (size >= 32) {
    std::uint64_t a = P1 + P2, b = P2, c = 0, d = 0 - P1;
    for (; end - p >= 32; p += 32) {
      a = round(a, word(p));
      b = round(b, word(p + 8));
      c = round(c, word(p + 16));
      d = round(d, word(p + 24));
    }
    h = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18);
    h = merge(merge(merge(merge(h, a), b), c), d);
  } else {
    h = P5;
  }
  h += static_cast<std::uint64_t>(size);
  for (; end - p >= 8; p += 8) h = rotl(h ^ round(0, word(p)), 27) * P1 + P4;
  for (; p < end; ++p) h = rotl(h ^ (*p * P5), 11) * P1;
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  return h ^ (h >> 32);
}

}  // namespace lagrad
