#pragma once
// Internal to the neighbor search: per-chunk hit buffers and other large scratch, kept
// between searches.
//
// The search writes the hits of each fixed chunk of queries into that chunk's buffer, then
// copies them into the CSR once every row length is known. The buffers are O(neighbors) in all
// and are recycled through a small process-wide pool, so a search repeated every step (the
// same size or smaller) allocates nothing. Several searches may run at once: each takes its own
// set from the pool. The index build recycles its sort buffers the same way.
#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

#include "neighbor_search_row_sort.h"
#include "shape.h"
#include "uninit_vector.h"

namespace lagrad::nsearch {

// The hits of one chunk of queries, rows back to back in the chunk's query order.
struct ChunkHits {
  UninitVector<std::uint32_t> ids;
  UninitVector<float> dist;
  RowSortBuffer sort;

  // Room for at least n entries, keeping the first `keep` (distances only when with_dist).
  void reserve(Index n, Index keep, bool with_dist) {
    grow(ids, n, keep);
    if (with_dist) grow(dist, n, keep);
  }
  // After the chunk: drops the room reserved for candidates that were no hits when it is far
  // larger than the hits (a tile reserves room for all its candidates, up to the whole point
  // set when the radius spans it), so that the buffers stay O(neighbors) in all.
  void trim(Index used, bool with_dist) {
    shrink(ids, used);
    shrink(dist, with_dist ? used : 0);
  }

 private:
  template <class V>
  static void grow(V& v, Index n, Index keep) {
    if (static_cast<Index>(v.size()) >= n) return;
    V bigger(static_cast<size_t>(std::max<Index>(n, 2 * static_cast<Index>(v.size()))));
    std::copy(v.begin(), v.begin() + keep, bigger.begin());
    v.swap(bigger);
  }
  template <class V>
  static void shrink(V& v, Index used) {
    if (static_cast<Index>(v.size()) <= 2 * used + (Index(1) << 16)) return;
    V smaller(v.begin(), v.begin() + used);
    v.swap(smaller);
  }
};

struct SearchScratch {
  std::vector<ChunkHits> chunks;
  // Per original query: where its row starts, (chunk << kChunkShift) | offset in the chunk.
  UninitVector<std::uint64_t> where;
};
// 24 bits of chunk (queries < 2^32 in chunks of 512 need 23), 40 of offset (2^40 entries of
// one chunk would be 4 TB of ids).
constexpr int kChunkShift = 40;

// Takes a T from a process-wide pool of idle ones (a new T if none is idle) and gives it back
// on destruction. At most kMaxIdle idle T are kept (one per search that ran concurrently with
// another, typically one or two); the rest are freed.
template <class T>
class PoolLease {
 public:
  PoolLease() {
    Pool& p = pool();
    {
      const std::lock_guard<std::mutex> lock(p.mutex);
      if (!p.idle.empty()) {
        item_ = std::move(p.idle.back());
        p.idle.pop_back();
      }
    }
    if (!item_) item_ = std::make_unique<T>();
  }
  ~PoolLease() {
    Pool& p = pool();
    const std::lock_guard<std::mutex> lock(p.mutex);
    if (p.idle.size() < kMaxIdle) p.idle.push_back(std::move(item_));
  }
  PoolLease(const PoolLease&) = delete;
  PoolLease& operator=(const PoolLease&) = delete;
  T& operator*() { return *item_; }
  T* operator->() { return item_.get(); }

 private:
  static constexpr size_t kMaxIdle = 2;
  struct Pool {
    std::mutex mutex;
    std::vector<std::unique_ptr<T>> idle;
  };
  static Pool& pool() {
    static Pool p;
    return p;
  }
  std::unique_ptr<T> item_;
};

using ScratchLease = PoolLease<SearchScratch>;

}  // namespace lagrad::nsearch
