#include "core/radix_sort.h"

#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>

#include <algorithm>

namespace lagrad {

namespace {

// Bits in which at least two keys differ.
std::uint64_t varying_bits(const UninitVector<KeyedId>& items) {
  const std::uint64_t first = items[0].key;
  return tbb::parallel_reduce(
      tbb::blocked_range<size_t>(0, items.size(), 1 << 14), std::uint64_t(0),
      [&](const tbb::blocked_range<size_t>& r, std::uint64_t acc) {
        for (size_t i = r.begin(); i < r.end(); ++i) acc |= items[i].key ^ first;
        return acc;
      },
      [](std::uint64_t a, std::uint64_t b) { return a | b; });
}

int bit_width(std::uint64_t v) { return v == 0 ? 0 : 64 - __builtin_clzll(v); }

}  // namespace

void radix_sort(UninitVector<KeyedId>& items, UninitVector<KeyedId>& scratch) {
  const size_t n = items.size();
  if (n < 2) return;
  if (n < 1024) {
    std::stable_sort(items.begin(), items.end(),
                     [](const KeyedId& a, const KeyedId& b) { return a.key < b.key; });
    return;
  }
  const std::uint64_t diff = varying_bits(items);
  if (diff == 0) return;
  // Sort only the span of varying bits, in as few passes as digits of at most max_bits allow
  // (wider digits for larger inputs, where the histograms stay small next to the data).
  const int low = __builtin_ctzll(diff);
  const int span = bit_width(diff) - low;
  const int max_bits = std::clamp(bit_width(n) - 3, 8, 14);
  const int passes = (span + max_bits - 1) / max_bits;
  const int digit_bits = (span + passes - 1) / passes;
  const size_t buckets = size_t(1) << digit_bits;
  const std::uint64_t mask = buckets - 1;
  scratch.resize(n);

  // Fixed chunks: each chunk histograms its digits, then scatters to offsets that put chunk c's
  // keys after those of chunks < c in every bucket (this is what makes the pass stable).
  const size_t num_chunks = std::clamp<size_t>(n / 16384, 1, 256);
  const size_t chunk = (n + num_chunks - 1) / num_chunks;
  std::vector<std::uint32_t> hist(num_chunks * buckets);

  KeyedId* src = items.data();
  KeyedId* dst = scratch.data();
  for (int pass = 0; pass < passes; ++pass) {
    const int shift = low + pass * digit_bits;
    tbb::parallel_for(size_t(0), num_chunks, [&](size_t c) {
      std::uint32_t* h = hist.data() + c * buckets;
      std::fill(h, h + buckets, 0u);
      const size_t e = std::min(n, (c + 1) * chunk);
      for (size_t i = c * chunk; i < e; ++i) ++h[(src[i].key >> shift) & mask];
    });
    std::uint32_t sum = 0;
    for (size_t b = 0; b < buckets; ++b) {
      for (size_t c = 0; c < num_chunks; ++c) {
        const std::uint32_t count = hist[c * buckets + b];
        hist[c * buckets + b] = sum;
        sum += count;
      }
    }
    tbb::parallel_for(size_t(0), num_chunks, [&](size_t c) {
      std::uint32_t* h = hist.data() + c * buckets;
      const size_t e = std::min(n, (c + 1) * chunk);
      for (size_t i = c * chunk; i < e; ++i) dst[h[(src[i].key >> shift) & mask]++] = src[i];
    });
    std::swap(src, dst);
  }
  if (src != items.data()) items.swap(scratch);
}

}  // namespace lagrad
