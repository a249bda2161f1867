#pragma once
// Thread control and deterministic parallel loops.
//
// Determinism rule: work is split into chunks whose boundaries depend only on the problem size,
// never on the thread count, and partial results are combined in chunk order. So 1 or N threads
// give bitwise the same numbers.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <vector>

#include "shape.h"

namespace lagrad {

// Limits lagrad's TBB loops to n threads for the rest of the process (n >= 1); 0 restores the
// default (all cores).
void set_num_threads(int n);
int num_threads();

// f(begin, end) over [0, n) in chunks of at least `grain`; chunks are independent.
template <class F>
void parallel_for(Index n, Index grain, F&& f) {
  if (n <= 0) return;
  if (n <= grain) {
    f(Index(0), n);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<Index>(0, n, grain),
                    [&](const tbb::blocked_range<Index>& r) { f(r.begin(), r.end()); });
}

// Number of fixed chunks of size `chunk` covering n.
inline Index num_chunks(Index n, Index chunk) { return n <= 0 ? 0 : (n + chunk - 1) / chunk; }

// Deterministic reduction: partial(c, begin, end) -> T for each fixed chunk, combined in order
// with combine(acc, partial).
template <class T, class Partial, class Combine>
T deterministic_reduce(Index n, Index chunk, T init, Partial&& partial, Combine&& combine) {
  const Index nc = num_chunks(n, chunk);
  std::vector<T> parts(static_cast<size_t>(nc), init);
  tbb::parallel_for(Index(0), nc, [&](Index c) {
    const Index b = c * chunk;
    const Index e = b + chunk < n ? b + chunk : n;
    parts[static_cast<size_t>(c)] = partial(c, b, e);
  });
  T acc = init;
  for (auto& p : parts) acc = combine(acc, p);
  return acc;
}

}  // namespace lagrad
