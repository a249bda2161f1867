#include "core/neighbor_search_scratch.h"

#include <mutex>

namespace lagrad::nsearch {

namespace {

// At most this many idle scratch sets are kept (one per search that ran concurrently with
// another, typically one or two); the rest are freed.
constexpr size_t kMaxPooled = 2;

struct Pool {
  std::mutex mutex;
  std::vector<std::unique_ptr<SearchScratch>> idle;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

ScratchLease::ScratchLease() {
  Pool& p = pool();
  {
    const std::lock_guard<std::mutex> lock(p.mutex);
    if (!p.idle.empty()) {
      scratch_ = std::move(p.idle.back());
      p.idle.pop_back();
    }
  }
  if (!scratch_) scratch_ = std::make_unique<SearchScratch>();
}

ScratchLease::~ScratchLease() {
  Pool& p = pool();
  const std::lock_guard<std::mutex> lock(p.mutex);
  if (p.idle.size() < kMaxPooled) p.idle.push_back(std::move(scratch_));
}

}  // namespace lagrad::nsearch
