#include "layers/kernels/cconv_csr.h"

namespace lagrad::kernels {

InvertedCsr invert_csr(const Index* row_splits, Index num_rows, const Index* col_index, Index num_cols) {
  const Index E = row_splits[num_rows];
  InvertedCsr inv;
  inv.row_splits.assign(static_cast<size_t>(num_cols + 1), 0);
  inv.row.resize(static_cast<size_t>(E));
  inv.entry.resize(static_cast<size_t>(E));
  for (Index e = 0; e < E; ++e) ++inv.row_splits[static_cast<size_t>(col_index[e] + 1)];
  for (Index c = 0; c < num_cols; ++c) inv.row_splits[c + 1] += inv.row_splits[c];
  // A counting sort that visits the entries in order keeps each column's entries sorted.
  IndexVector fill(inv.row_splits.begin(), inv.row_splits.end() - 1);
  for (Index j = 0; j < num_rows; ++j)
    for (Index e = row_splits[j]; e < row_splits[j + 1]; ++e) {
      const Index k = fill[static_cast<size_t>(col_index[e])]++;
      inv.row[k] = j;
      inv.entry[k] = e;
    }
  return inv;
}

}  // namespace lagrad::kernels
