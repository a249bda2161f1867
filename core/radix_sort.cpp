#include "core/radix_sort.h"

#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>

#include <algorithm>

namespace lagrad {

namespace {

constexpr int kDigitBits = 11;
constexpr std::uint32_t kBuckets = 1u << kDigitBits;
constexpr std::uint64_t kDigitMask = kBuckets - 1;

// Bits in which at least two keys differ.
std::uint64_t varying_bits(const std::vector<KeyedId>& items) {
  const std::uint64_t first = items[0].key;
  return tbb::parallel_reduce(
      tbb::blocked_range<size_t>(0, items.size(), 1 << 14), std::uint64_t(0),
      [&](const tbb::blocked_range<size_t>& r, std::uint64_t acc) {
        for (size_t i = r.begin(); i < r.end(); ++i) acc |= items[i].key ^ first;
        return acc;
      },
      [](std::uint64_t a, std::uint64_t b) { return a | b; });
}

}  // namespace

void radix_sort(std::vector<KeyedId>& items, std::vector<KeyedId>& scratch) {
  const size_t n = items.size();
  if (n < 2) return;
  if (n < 1024) {
    std::stable_sort(items.begin(), items.end(),
                     [](const KeyedId& a, const KeyedId& b) { return a.key < b.key; });
    return;
  }
  const std::uint64_t diff = varying_bits(items);
  if (diff == 0) return;
  scratch.resize(n);

  // Fixed chunks: each chunk histograms its digits, then scatters to offsets that put chunk c's
  // keys after those of chunks < c in every bucket (this is what makes the pass stable).
  const size_t num_chunks = std::clamp<size_t>(n / 16384, 1, 256);
  const size_t chunk = (n + num_chunks - 1) / num_chunks;
  std::vector<std::uint32_t> hist(num_chunks * kBuckets);

  KeyedId* src = items.data();
  KeyedId* dst = scratch.data();
  for (int shift = 0; shift < 64; shift += kDigitBits) {
    if (((diff >> shift) & kDigitMask) == 0) continue;
    tbb::parallel_for(size_t(0), num_chunks, [&](size_t c) {
      std::uint32_t* h = hist.data() + c * kBuckets;
      std::fill(h, h + kBuckets, 0u);
      const size_t e = std::min(n, (c + 1) * chunk);
      for (size_t i = c * chunk; i < e; ++i) ++h[(src[i].key >> shift) & kDigitMask];
    });
    std::uint32_t sum = 0;
    for (std::uint32_t b = 0; b < kBuckets; ++b) {
      for (size_t c = 0; c < num_chunks; ++c) {
        const std::uint32_t count = hist[c * kBuckets + b];
        hist[c * kBuckets + b] = sum;
        sum += count;
      }
    }
    tbb::parallel_for(size_t(0), num_chunks, [&](size_t c) {
      std::uint32_t* h = hist.data() + c * kBuckets;
      const size_t e = std::min(n, (c + 1) * chunk);
      for (size_t i = c * chunk; i < e; ++i) dst[h[(src[i].key >> shift) & kDigitMask]++] = src[i];
    });
    std::swap(src, dst);
  }
  if (src != items.data()) items.swap(scratch);
}

}  // namespace lagrad
