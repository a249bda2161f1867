// invert_neighbor_list: a stable counting sort of the forward entries by point index.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "core/neighbor_search.h"
#include "core/parallel.h"

namespace lagrad {

namespace {

constexpr Index kEntriesPerChunk = Index(1) << 18;
constexpr Index kMaxChunks = 8;

void check_csr(const IndexVector& neighbors_index, const IndexVector& row_splits, Index num_points) {
  const char* fn = "invert_neighbor_list: ";
  if (num_points < 0)
    throw std::invalid_argument(std::string(fn) + "num_points must be >= 0, got " + std::to_string(num_points));
  const Index num_entries = static_cast<Index>(neighbors_index.size());
  if (row_splits.empty() || row_splits.front() != 0 || row_splits.back() != num_entries)
    throw std::invalid_argument(
        std::string(fn) + "row_splits must start at 0 and end at neighbors_index.size() = " +
        std::to_string(num_entries) + ", got " +
        (row_splits.empty() ? std::string("an empty vector")
                            : "[" + std::to_string(row_splits.front()) + " .. " +
                                  std::to_string(row_splits.back()) + "]"));
  for (size_t q = 0; q + 1 < row_splits.size(); ++q)
    if (row_splits[q + 1] < row_splits[q])
      throw std::invalid_argument(std::string(fn) + "row_splits must be non-decreasing, got row_splits[" +
                                  std::to_string(q) + "] = " + std::to_string(row_splits[q]) + " > row_splits[" +
                                  std::to_string(q + 1) + "] = " + std::to_string(row_splits[q + 1]));
  const Index bad = deterministic_reduce(
      num_entries, kEntriesPerChunk, Index(-1),
      [&](Index, Index b, Index e) {
        for (Index i = b; i < e; ++i)
          if (neighbors_index[i] < 0 || neighbors_index[i] >= num_points) return i;
        return Index(-1);
      },
      [](Index acc, Index part) { return acc >= 0 ? acc : part; });
  if (bad >= 0)
    throw std::invalid_argument(std::string(fn) + "neighbors_index[" + std::to_string(bad) + "] = " +
                                std::to_string(neighbors_index[bad]) + " is outside [0, num_points = " +
                                std::to_string(num_points) + ")");
}

}  // namespace

InvertedNeighborList invert_neighbor_list(const IndexVector& neighbors_index, const IndexVector& row_splits,
                                          Index num_points) {
  check_csr(neighbors_index, row_splits, num_points);
  const Index num_entries = static_cast<Index>(neighbors_index.size());
  InvertedNeighborList out;
  out.row_splits.assign(num_points + 1, 0);
  out.query_index.resize(num_entries);
  out.entry_index.resize(num_entries);
  if (num_entries == 0) return out;

  // Chunk c's entries of point p go after those of chunks < c: the sort is stable, so entries
  // stay in forward order (by query, then entry) whatever the chunking.
  const Index nc = std::clamp<Index>(num_chunks(num_entries, kEntriesPerChunk), 1, kMaxChunks);
  const Index chunk = (num_entries + nc - 1) / nc;
  std::vector<Index> offset(nc * num_points, 0);
  const Index* nb = neighbors_index.data();
  parallel_for(nc, 1, [&](Index cb, Index ce) {
    for (Index c = cb; c < ce; ++c) {
      Index* cnt = offset.data() + c * num_points;
      for (Index e = c * chunk; e < std::min(num_entries, (c + 1) * chunk); ++e) ++cnt[nb[e]];
    }
  });
  Index* splits = out.row_splits.data();
  parallel_for(num_points, 1 << 14, [&](Index pb, Index pe) {
    for (Index p = pb; p < pe; ++p) {
      Index sum = 0;
      for (Index c = 0; c < nc; ++c) sum += offset[c * num_points + p];
      splits[p + 1] = sum;
    }
  });
  for (Index p = 0; p < num_points; ++p) splits[p + 1] += splits[p];
  parallel_for(num_points, 1 << 14, [&](Index pb, Index pe) {
    for (Index p = pb; p < pe; ++p) {
      Index at = splits[p];
      for (Index c = 0; c < nc; ++c) {
        const Index k = offset[c * num_points + p];
        offset[c * num_points + p] = at;
        at += k;
      }
    }
  });
  parallel_for(nc, 1, [&](Index cb, Index ce) {
    for (Index c = cb; c < ce; ++c) {
      Index* at = offset.data() + c * num_points;
      const Index eb = c * chunk, ee = std::min(num_entries, (c + 1) * chunk);
      Index q = std::upper_bound(row_splits.begin(), row_splits.end(), eb) - row_splits.begin() - 1;
      for (Index e = eb; e < ee; ++e) {
        while (row_splits[q + 1] <= e) ++q;
        const Index dst = at[nb[e]]++;
        out.query_index[dst] = q;
        out.entry_index[dst] = e;
      }
    }
  });
  return out;
}

}  // namespace lagrad
