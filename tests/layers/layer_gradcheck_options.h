#pragma once
// The finite-difference settings of the whole-layer gradient checks (search + window + op +
// bias + activation in float32): the step and the tolerances that float rounding of a full
// layer call needs, shared so that every layer check is held to the same bar.
#include <string>
#include <utility>
#include <vector>

#include "gradcheck.h"

namespace lagrad::testing {

inline GradcheckOptions layer_gradcheck_options(std::vector<std::string> input_names) {
  GradcheckOptions opt;
  opt.set_eps(2e-4).set_atol(3e-3).set_rtol(3e-2).set_names(std::move(input_names));
  return opt;
}

}  // namespace lagrad::testing
