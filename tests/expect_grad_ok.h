#pragma once
// The doctest assertion the op tests share: gradcheck passes and checked at least one element
// (a check that silently skipped everything would otherwise pass).
#include <doctest/doctest.h>

#include <vector>

#include "gradcheck.h"

namespace lagrad::testing {

inline void expect_grad_ok(const GradcheckFn& f, const std::vector<Tensor>& in,
                           const GradcheckOptions& opt = GradcheckOptions()) {
  const GradcheckResult r = gradcheck(f, in, opt);
  CHECK_MESSAGE(r.ok, r.message);
  CHECK(r.checked > 0);
}

}  // namespace lagrad::testing
