#pragma once
// CSR helpers of the cconv op: the inverted neighbor list (per column, the entries that list
// it, in increasing entry order) and per-row / per-column sums of per-entry values, all
// deterministic (each output element is summed sequentially in a fixed order).
#include "core/shape.h"

namespace lagrad::kernels {

struct InvertedCsr {
  IndexVector row_splits;  // [num_cols + 1]
  IndexVector row;         // [E] the row (query) of each inverted entry
  IndexVector entry;       // [E] position of the inverted entry in the forward list
};

InvertedCsr invert_csr(const Index* row_splits, Index num_rows, const Index* col_index, Index num_cols);

}  // namespace lagrad::kernels
