#pragma once
// The data structure behind SpatialHashIndex (internal to core; see docs/neighbor_search.md).
//
// Space is cut into "rows": infinite strips along x, one per integer (cy, cz) = floor((y, z) / w).
// Points are sorted by (cz, cy, x) into compact SoA arrays, so each occupied row is a contiguous
// run sorted by x, and a search visits the 3x3 rows around a query, each as one contiguous
// x-window. An open-addressing hash maps (cy, cz) to its run. Only occupied rows are stored, so
// memory is O(points) whatever the extent of the point set.
#include <cmath>
#include <cstdint>
#include <vector>

#include "neighbor_search.h"
#include "uninit_vector.h"

namespace lagrad {

// Row coordinates are clamped to +-2^52: exact in double, far from int64 overflow, and clamping
// is monotone so two points within one row width stay within one row of each other.
constexpr double kMaxRowCoord = 4503599627370496.0;  // 2^52

inline std::int64_t row_coord(float v, double inv_width) {
  double c = std::floor(static_cast<double>(v) * inv_width);
  if (c > kMaxRowCoord) c = kMaxRowCoord;
  if (c < -kMaxRowCoord) c = -kMaxRowCoord;
  return static_cast<std::int64_t>(c);
}

// Entries after the last sorted point: 8-lane distance tests may read 7 points past a row.
constexpr Index kSortedPadding = 7;

// Points sorted by row then x. Used for the index and for the query order of a search.
struct SortedPoints {
  struct Row {
    std::int64_t cy, cz;
    Index begin, end;  // positions in the sorted arrays
  };
  // Sorted order, each followed by kSortedPadding zero entries.
  UninitVector<float> x, y, z;        // coordinates
  UninitVector<std::uint32_t> ids;    // original index of each point
  std::vector<Row> rows;             // occupied rows in sorted order
  Index num = 0;                     // number of points

  Index size() const { return num; }
};

// Sorts points[n, 3] into rows of width 1 / inv_width (n < 2^32, coordinates finite).
void sort_into_rows(const float* points, Index n, double inv_width, SortedPoints& out);

struct SpatialHashIndex::Impl {
  float cell_size = 0;     // as requested: searches may use radius <= cell_size
  double row_width = 0;    // slightly above cell_size, so rounding never moves a neighbor 2 rows
  double inv_row_width = 0;
  UninitVector<float> points;  // the original points [n, 3]
  SortedPoints sorted;
  std::vector<std::uint32_t> table;  // open addressing: row id + 1, 0 = empty
  std::uint64_t table_mask = 0;

  // Row id of (cy, cz), or -1 when the row holds no point.
  Index find_row(std::int64_t cy, std::int64_t cz) const {
    if (table.empty()) return -1;
    std::uint64_t h = hash(cy, cz) & table_mask;
    while (true) {
      const std::uint32_t slot = table[h];
      if (slot == 0) return -1;
      const auto& r = sorted.rows[slot - 1];
      if (r.cy == cy && r.cz == cz) return slot - 1;
      h = (h + 1) & table_mask;
    }
  }
  static std::uint64_t hash(std::int64_t cy, std::int64_t cz) {
    std::uint64_t h = static_cast<std::uint64_t>(cy) * 0x9E3779B97F4A7C15ull ^
                      static_cast<std::uint64_t>(cz) * 0xC2B2AE3D27D4EB4Full;
    return h ^ (h >> 31);
  }
};

// Builds `m` over points[n, 3] for searches with radius <= cell_size. No validation: the
// caller has checked the points (finite, n < 2^32) and cell_size (finite, > 0). keep_points
// keeps a copy for SpatialHashIndex::points().
void build_spatial_hash(const float* points, Index n, float cell_size, bool keep_points,
                        SpatialHashIndex::Impl& m);

}  // namespace lagrad
