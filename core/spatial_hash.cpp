#include "core/spatial_hash.h"

#include <tbb/parallel_reduce.h>
#include <tbb/parallel_sort.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "core/neighbor_checks.h"
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

struct RowRange {
  std::int64_t min_y = INT64_MAX, max_y = INT64_MIN, min_z = INT64_MAX, max_z = INT64_MIN;
  void add(std::int64_t y, std::int64_t z) {
    min_y = std::min(min_y, y), max_y = std::max(max_y, y);
    min_z = std::min(min_z, z), max_z = std::max(max_z, z);
  }
  void join(const RowRange& o) {
    add(o.min_y, o.min_z);
    add(o.max_y, o.max_z);
  }
};

constexpr Index kChunk = 1 << 14;

}  // namespace

void sort_into_rows(const float* points, Index n, double inv_width, SortedPoints& out) {
  out.num = n;
  out.x.assign(n + 3, 0.0f), out.y.assign(n + 3, 0.0f), out.z.assign(n + 3, 0.0f);
  out.ids.assign(n + 3, 0u);
  out.rows.clear();
  if (n == 0) return;

  std::vector<std::int64_t> cy(n), cz(n);
  const RowRange range = tbb::parallel_reduce(
      tbb::blocked_range<Index>(0, n, kChunk), RowRange{},
      [&](const tbb::blocked_range<Index>& r, RowRange acc) {
        for (Index i = r.begin(); i < r.end(); ++i) {
          cy[i] = row_coord(points[3 * i + 1], inv_width);
          cz[i] = row_coord(points[3 * i + 2], inv_width);
          acc.add(cy[i], cz[i]);
        }
        return acc;
      },
      [](RowRange a, const RowRange& b) {
        a.join(b);
        return a;
      });

  // Sort key (row, x). When the occupied row range fits in 32 bits (always, but for extreme
  // radius/extent ratios) it is one 64-bit radix key; otherwise a comparison sort on the same
  // order. Both orders are total (ties by index), so the result is unique.
  std::vector<KeyedId> items(n);
  const std::uint64_t ny = static_cast<std::uint64_t>(range.max_y - range.min_y) + 1;
  const std::uint64_t nz = static_cast<std::uint64_t>(range.max_z - range.min_z) + 1;
  if (ny <= (std::uint64_t(1) << 32) / nz) {
    parallel_for(n, kChunk, [&](Index b, Index e) {
      for (Index i = b; i < e; ++i) {
        const std::uint64_t row = static_cast<std::uint64_t>(cz[i] - range.min_z) * ny +
                                  static_cast<std::uint64_t>(cy[i] - range.min_y);
        items[i] = {(row << 32) | orderable_bits(points[3 * i]), static_cast<std::uint32_t>(i)};
      }
    });
    std::vector<KeyedId> scratch;
    radix_sort(items, scratch);
  } else {
    parallel_for(n, kChunk, [&](Index b, Index e) {
      for (Index i = b; i < e; ++i) items[i] = {orderable_bits(points[3 * i]), static_cast<std::uint32_t>(i)};
    });
    tbb::parallel_sort(items.begin(), items.end(), [&](const KeyedId& a, const KeyedId& b) {
      if (cz[a.id] != cz[b.id]) return cz[a.id] < cz[b.id];
      if (cy[a.id] != cy[b.id]) return cy[a.id] < cy[b.id];
      if (a.key != b.key) return a.key < b.key;
      return a.id < b.id;
    });
  }

  parallel_for(n, kChunk, [&](Index b, Index e) {
    for (Index s = b; s < e; ++s) {
      const std::uint32_t i = items[s].id;
      out.ids[s] = i;
      out.x[s] = points[3 * size_t(i)];
      out.y[s] = points[3 * size_t(i) + 1];
      out.z[s] = points[3 * size_t(i) + 2];
    }
  });

  // Row starts: positions whose row differs from the previous one, counted then written per
  // fixed chunk.
  auto starts_row = [&](Index s) {
    if (s == 0) return true;
    const std::uint32_t a = out.ids[s - 1], b = out.ids[s];
    return cy[a] != cy[b] || cz[a] != cz[b];
  };
  const Index nc = num_chunks(n, kChunk);
  std::vector<Index> first(nc + 1, 0);
  parallel_for(nc, 1, [&](Index cb, Index ce) {
    for (Index c = cb; c < ce; ++c) {
      Index k = 0;
      for (Index s = c * kChunk; s < std::min(n, (c + 1) * kChunk); ++s) k += starts_row(s);
      first[c + 1] = k;
    }
  });
  for (Index c = 0; c < nc; ++c) first[c + 1] += first[c];
  out.rows.resize(first[nc]);
  parallel_for(nc, 1, [&](Index cb, Index ce) {
    for (Index c = cb; c < ce; ++c) {
      Index k = first[c];
      for (Index s = c * kChunk; s < std::min(n, (c + 1) * kChunk); ++s)
        if (starts_row(s)) out.rows[k++] = {cy[out.ids[s]], cz[out.ids[s]], s, 0};
    }
  });
  for (size_t r = 0; r + 1 < out.rows.size(); ++r) out.rows[r].end = out.rows[r + 1].begin;
  out.rows.back().end = n;
}

SpatialHashIndex::SpatialHashIndex(const float* points, Index num_points, float cell_size)
    : impl_(std::make_unique<Impl>()) {
  const char* fn = "SpatialHashIndex";
  check_count(fn, "num_points", num_points);
  check_points(fn, "points", points, num_points);
  if (!(std::isfinite(cell_size) && cell_size > 0))
    throw std::invalid_argument(std::string(fn) + ": cell_size must be finite and > 0, got " +
                                format_float(cell_size));
  Impl& m = *impl_;
  m.cell_size = cell_size;
  // The margin keeps |dy| <= radius*(1 + float rounding) strictly below one row width.
  m.row_width = static_cast<double>(cell_size) * (1.0 + 1e-4);
  m.inv_row_width = 1.0 / m.row_width;
  m.points.assign(points, points + 3 * num_points);
  sort_into_rows(points, num_points, m.inv_row_width, m.sorted);

  const size_t num_rows = m.sorted.rows.size();
  size_t capacity = 8;
  while (capacity < 2 * num_rows) capacity *= 2;
  m.table.assign(capacity, 0u);
  m.table_mask = capacity - 1;
  for (size_t r = 0; r < num_rows; ++r) {
    std::uint64_t h = Impl::hash(m.sorted.rows[r].cy, m.sorted.rows[r].cz) & m.table_mask;
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
