#pragma once
// Internal to the neighbor search: per-chunk hit buffers, kept between searches.
//
// The search writes the hits of each fixed chunk of queries into that chunk's buffer, then
// copies them into the CSR once every row length is known. The buffers are O(neighbors) in all
// and are recycled through a small process-wide pool, so a search repeated every step (the
// same size or smaller) allocates nothing. Several searches may run at once: each takes its own
// set from the pool.
#include <algorithm>
#include <memory>
#include <vector>

#include "core/neighbor_search_row_sort.h"
#include "core/shape.h"
#include "core/uninit_vector.h"

namespace lagrad::nsearch {

// The hits of one chunk of queries, rows back to back in the chunk's query order.
struct ChunkHits {
  UninitVector<std::uint32_t> ids;
  UninitVector<float> dist;
  RowSortBuffer sort;

  // Room for at least n entries, keeping the first `keep`.
  void reserve(Index n, Index keep) {
    if (static_cast<Index>(ids.size()) >= n) return;
    const size_t size = static_cast<size_t>(std::max<Index>(n, 2 * static_cast<Index>(ids.size())));
    UninitVector<std::uint32_t> new_ids(size);
    UninitVector<float> new_dist(size);
    std::copy(ids.begin(), ids.begin() + keep, new_ids.begin());
    std::copy(dist.begin(), dist.begin() + keep, new_dist.begin());
    ids.swap(new_ids), dist.swap(new_dist);
  }
};

struct SearchScratch {
  std::vector<ChunkHits> chunks;
  // Per original query: where its row starts, (chunk << kChunkShift) | offset in the chunk.
  UninitVector<std::uint64_t> where;
};
constexpr int kChunkShift = 40;

// Takes a scratch set from the pool (a new one if none is free) and returns it on destruction.
class ScratchLease {
 public:
  ScratchLease();
  ~ScratchLease();
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  SearchScratch& operator*() { return *scratch_; }
  SearchScratch* operator->() { return scratch_.get(); }

 private:
  std::unique_ptr<SearchScratch> scratch_;
};

}  // namespace lagrad::nsearch
