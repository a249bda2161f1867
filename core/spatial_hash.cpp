#include "core/spatial_hash.h"

#include <tbb/parallel_reduce.h>
#include <tbb/parallel_sort.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <cstring>
#include <stdexcept>
#include <string>

#include "core/neighbor_checks.h"
#include "core/neighbor_search_scratch.h"
#include "core/parallel.h"
#include "core/radix_sort.h"

namespace lagrad {

namespace {

// Maps a float to an unsigned integer with the same order (negatives flipped below positives).
std::uint32_t orderable_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

struct CoordRange {
  float min_y = INFINITY, max_y = -INFINITY, min_z = INFINITY, max_z = -INFINITY;
  void join(const CoordRange& o) {
    min_y = std::min(min_y, o.min_y), max_y = std::max(max_y, o.max_y);
    min_z = std::min(min_z, o.min_z), max_z = std::max(max_z, o.max_z);
  }
};

constexpr Index kChunk = 1 << 14;

struct SortBuffers {
  UninitVector<KeyedId> items, scratch;
};

}  // namespace

// Fills out.rows from the sorted points: same_row(s) tells whether position s continues the
// row of s - 1, coords(s) gives the (cy, cz) of position s. Counted, then written per chunk.
template <class SameRow, class Coords>
void build_rows(Index n, SameRow&& same_row, Coords&& coords, SortedPoints& out) {
  const Index nc = num_chunks(n, kChunk);
  std::vector<Index> first(nc + 1, 0);
  parallel_for(nc, 1, [&](Index cb, Index ce) {
    for (Index c = cb; c < ce; ++c) {
      Index k = 0;
      for (Index s = c * kChunk; s < std::min(n, (c + 1) * kChunk); ++s) k += s == 0 || !same_row(s);
      first[c + 1] = k;
    }
  });
  for (Index c = 0; c < nc; ++c) first[c + 1] += first[c];
  out.rows.resize(first[nc]);
  parallel_for(nc, 1, [&](Index cb, Index ce) {
    for (Index c = cb; c < ce; ++c) {
      Index k = first[c];
      for (Index s = c * kChunk; s < std::min(n, (c + 1) * kChunk); ++s) {
        if (s > 0 && same_row(s)) continue;
        const auto [cy, cz] = coords(s);
        out.rows[k++] = {cy, cz, s, 0};
      }
    }
  });
  for (size_t r = 0; r + 1 < out.rows.size(); ++r) out.rows[r].end = out.rows[r + 1].begin;
  out.rows.back().end = n;
}

void sort_into_rows(const float* points, Index n, double inv_width, SortedPoints& out) {
  out.num = n;
  const Index padded = n + kSortedPadding;
  out.x.resize(padded), out.y.resize(padded), out.z.resize(padded), out.ids.resize(padded);
  for (Index i = n; i < padded; ++i) out.x[i] = out.y[i] = out.z[i] = 0.0f, out.ids[i] = 0;
  out.rows.clear();
  if (n == 0) return;

  // The occupied row range, from the coordinate range (row_coord is monotone).
  const CoordRange range = tbb::parallel_reduce(
      tbb::blocked_range<Index>(0, n, kChunk), CoordRange{},
      [&](const tbb::blocked_range<Index>& r, CoordRange acc) {
        for (Index i = r.begin(); i < r.end(); ++i) {
          acc.min_y = std::min(acc.min_y, points[3 * i + 1]), acc.max_y = std::max(acc.max_y, points[3 * i + 1]);
          acc.min_z = std::min(acc.min_z, points[3 * i + 2]), acc.max_z = std::max(acc.max_z, points[3 * i + 2]);
        }
        return acc;
      },
      [](CoordRange a, const CoordRange& b) {
        a.join(b);
        return a;
      });
  const std::int64_t min_y = row_coord(range.min_y, inv_width), min_z = row_coord(range.min_z, inv_width);
  const std::uint64_t ny = static_cast<std::uint64_t>(row_coord(range.max_y, inv_width) - min_y) + 1;
  const std::uint64_t nz = static_cast<std::uint64_t>(row_coord(range.max_z, inv_width) - min_z) + 1;

  // Sort key (row, x). When the occupied row range fits in 32 bits (always, but for extreme
  // radius/extent ratios) it is one 64-bit radix key; otherwise a comparison sort on the same
  // order. Both orders are total (ties by index), so the result is unique.
  // The sort buffers are recycled between builds (an index rebuilt every step then causes no
  // page faults for them).
  nsearch::PoolLease<SortBuffers> buffers;
  UninitVector<KeyedId>& items = buffers->items;
  items.resize(n);
  auto gather = [&] {
    parallel_for(n, kChunk, [&](Index b, Index e) {
      for (Index s = b; s < e; ++s) {
        const std::uint32_t i = items[s].id;
        out.ids[s] = i;
        out.x[s] = points[3 * size_t(i)];
        out.y[s] = points[3 * size_t(i) + 1];
        out.z[s] = points[3 * size_t(i) + 2];
      }
    });
  };
  if (ny <= (std::uint64_t(1) << 32) / nz) {
    parallel_for(n, kChunk, [&](Index b, Index e) {
      for (Index i = b; i < e; ++i) {
        const std::uint64_t row =
            static_cast<std::uint64_t>(row_coord(points[3 * i + 2], inv_width) - min_z) * ny +
            static_cast<std::uint64_t>(row_coord(points[3 * i + 1], inv_width) - min_y);
        items[i] = {(row << 32) | orderable_bits(points[3 * i]), static_cast<std::uint32_t>(i)};
      }
    });
    radix_sort(items, buffers->scratch);
    gather();
    build_rows(
        n, [&](Index s) { return (items[s].key >> 32) == (items[s - 1].key >> 32); },
        [&](Index s) {
          const std::uint64_t row = items[s].key >> 32;
          return std::pair<std::int64_t, std::int64_t>(min_y + static_cast<std::int64_t>(row % ny),
                                                       min_z + static_cast<std::int64_t>(row / ny));
        },
        out);
  } else {
    std::vector<std::int64_t> cy(n), cz(n);
    parallel_for(n, kChunk, [&](Index b, Index e) {
      for (Index i = b; i < e; ++i) {
        cy[i] = row_coord(points[3 * i + 1], inv_width);
        cz[i] = row_coord(points[3 * i + 2], inv_width);
        items[i] = {orderable_bits(points[3 * i]), static_cast<std::uint32_t>(i)};
      }
    });
    tbb::parallel_sort(items.begin(), items.end(), [&](const KeyedId& a, const KeyedId& b) {
      if (cz[a.id] != cz[b.id]) return cz[a.id] < cz[b.id];
      if (cy[a.id] != cy[b.id]) return cy[a.id] < cy[b.id];
      if (a.key != b.key) return a.key < b.key;
      return a.id < b.id;
    });
    gather();
    build_rows(
        n,
        [&](Index s) {
          const std::uint32_t a = items[s - 1].id, b = items[s].id;
          return cy[a] == cy[b] && cz[a] == cz[b];
        },
        [&](Index s) { return std::pair<std::int64_t, std::int64_t>(cy[items[s].id], cz[items[s].id]); }, out);
  }
}

SpatialHashIndex::SpatialHashIndex(const float* points, Index num_points, float cell_size)
    : impl_(std::make_unique<Impl>()) {
  const char* fn = "SpatialHashIndex";
  check_count(fn, "num_points", num_points);
  check_points(fn, "points", points, num_points);
  if (!(std::isfinite(cell_size) && cell_size > 0))
    throw std::invalid_argument(std::string(fn) + ": cell_size must be finite and > 0, got " +
                                format_float(cell_size));
  build_spatial_hash(points, num_points, cell_size, true, *impl_);
}

void build_spatial_hash(const float* points, Index num_points, float cell_size, bool keep_points,
                        SpatialHashIndex::Impl& m) {
  m.cell_size = cell_size;
  // The margin keeps |dy| <= radius*(1 + float rounding) strictly below one row width.
  m.row_width = static_cast<double>(cell_size) * (1.0 + 1e-4);
  m.inv_row_width = 1.0 / m.row_width;
  if (keep_points) m.points.assign(points, points + 3 * num_points);
  sort_into_rows(points, num_points, m.inv_row_width, m.sorted);

  const size_t num_rows = m.sorted.rows.size();
  size_t capacity = 8;
  while (capacity < 2 * num_rows) capacity *= 2;
  m.table.assign(capacity, 0u);
  m.table_mask = capacity - 1;
  for (size_t r = 0; r < num_rows; ++r) {
    std::uint64_t h = SpatialHashIndex::Impl::hash(m.sorted.rows[r].cy, m.sorted.rows[r].cz) & m.table_mask;
    while (m.table[h] != 0) h = (h + 1) & m.table_mask;
    m.table[h] = static_cast<std::uint32_t>(r + 1);
  }
}

SpatialHashIndex::~SpatialHashIndex() = default;
SpatialHashIndex::SpatialHashIndex(SpatialHashIndex&&) noexcept = default;
SpatialHashIndex& SpatialHashIndex::operator=(SpatialHashIndex&&) noexcept = default;

Index SpatialHashIndex::num_points() const { return static_cast<Index>(impl_->points.size() / 3); }
float SpatialHashIndex::cell_size() const { return impl_->cell_size; }
const float* SpatialHashIndex::points() const { return impl_->points.data(); }

}  // namespace lagrad
