#pragma once
// Stable parallel LSD radix sort of (64-bit key, 32-bit payload) pairs.
//
// Used to order points by spatial key. Stable, so equal keys keep their input order; the result
// is therefore independent of the thread count and of the chunking.
#include <cstdint>
#include <vector>

#include "uninit_vector.h"

namespace lagrad {

struct KeyedId {
  std::uint64_t key;
  std::uint32_t id;
};

// Sorts `items` by key in place; `scratch` is resized and used as the second buffer. Digits in
// which all keys agree are skipped, so a key with few varying bits costs few passes.
void radix_sort(UninitVector<KeyedId>& items, UninitVector<KeyedId>& scratch);

}  // namespace lagrad
