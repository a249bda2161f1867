#include "layers/regularizer.h"

#include "core/ops.h"

namespace lagrad {

Tensor regularization_penalty(const Tensor& w, const Regularizer& reg) {
  Tensor total = Tensor::scalar(0.0f);
  if (reg.l1 != 0.0f) total = add(total, mul(sum(abs(w)), reg.l1));
  if (reg.l2 != 0.0f) total = add(total, mul(sum(square(w)), reg.l2));
  return total;
}

}  // namespace lagrad
