#pragma once
// Finite-difference gradient checker for tests (header-only).
//
//   auto r = lagrad::testing::gradcheck([](const std::vector<Tensor>& in) { return mul(in[0], in[1]); },
//                                       {a, b});
//   CHECK_MESSAGE(r.ok, r.message);
//
// f maps the inputs to a tensor of any shape. The checker forms the scalar L = sum(f(x) * R)
// with a fixed random R (entries +-[0.5, 1.5], so no output is weighted near zero), gets the
// analytic gradients of L by one backward pass (seed R) on a private tape, and compares them
// with central differences (L(x + h e_j) - L(x - h e_j)) / 2h for every element j of every input
// that requires a gradient. f is evaluated in float; L is accumulated in double. An element
// passes when |analytic - numeric| <= atol + rtol * |numeric|.
//
// Kinks: list the input values where f is not differentiable (e.g. 0 for relu) in
// options.kinks. Elements closer than kink_margin (default 2 * eps) to a kink are moved away
// (KinkPolicy::kPerturb, the default: the checker writes the moved value into the input) or
// left unchecked (KinkPolicy::kSkip).
//
// It also fails when an input that does not require a gradient received one.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/tape.h"
#include "core/tensor.h"

namespace lagrad::testing {

enum class KinkPolicy { kPerturb, kSkip };

struct GradcheckOptions {
  double eps = 1e-3;   // central-difference half step
  double atol = 1e-3;  // absolute tolerance
  double rtol = 1e-2;  // relative tolerance (to |numeric|)
  std::uint64_t seed = 12345;  // for the output weights R
  std::vector<float> kinks;    // input values where f is not differentiable
  double kink_margin = 0.0;    // 0: 2 * eps
  KinkPolicy kink_policy = KinkPolicy::kPerturb;
  std::vector<std::string> names;  // input names for reports (default: tensor name or "input i")

  GradcheckOptions& set_eps(double v) { eps = v; return *this; }
  GradcheckOptions& set_atol(double v) { atol = v; return *this; }
  GradcheckOptions& set_rtol(double v) { rtol = v; return *this; }
  GradcheckOptions& set_kinks(std::vector<float> v) { kinks = std::move(v); return *this; }
  GradcheckOptions& set_kink_margin(double v) { kink_margin = v; return *this; }
  GradcheckOptions& set_kink_policy(KinkPolicy v) { kink_policy = v; return *this; }
  GradcheckOptions& set_names(std::vector<std::string> v) { names = std::move(v); return *this; }
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_err = 0.0;  // over all checked elements
  double max_rel_err = 0.0;  // |a - n| / max(|a|, |n|), over elements with max(|a|, |n|) > atol
  std::string worst_input;   // where the largest excess over the tolerance was
  Index worst_index = -1;    // flat element index in that input
  double worst_analytic = 0.0, worst_numeric = 0.0;
  Index checked = 0, skipped = 0, failed = 0;
  std::string message;  // a summary and the first failures
};

namespace detail {

inline std::string input_name(const GradcheckOptions& opt, const std::vector<Tensor>& inputs, size_t i) {
  if (i < opt.names.size()) return opt.names[i];
  if (!inputs[i].name().empty()) return inputs[i].name();
  return "input " + std::to_string(i);
}

// L = sum(out * R) in double.
inline double weighted_sum(const Tensor& out, const std::vector<float>& r) {
  const float* o = out.data();
  double acc = 0.0;
  for (size_t k = 0; k < r.size(); ++k) acc += static_cast<double>(o[k]) * static_cast<double>(r[k]);
  return acc;
}

}  // namespace detail

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

inline GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                                 const GradcheckOptions& opt = GradcheckOptions()) {
  GradcheckResult res;
  std::ostringstream failures;
  auto fail = [&](const std::string& line) {
    res.ok = false;
    if (res.failed++ < 8) failures << "\n  " << line;
  };

  // Move elements off the kinks (or mark them skipped) before anything is evaluated.
  const double margin = opt.kink_margin > 0.0 ? opt.kink_margin : 2.0 * opt.eps;
  std::vector<std::vector<char>> skip(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    float* x = inputs[i].data();
    skip[i].assign(static_cast<size_t>(inputs[i].numel()), 0);
    for (Index j = 0; j < inputs[i].numel(); ++j)
      for (float k : opt.kinks) {
        const double d = static_cast<double>(x[j]) - k;
        if (std::fabs(d) >= margin) continue;
        if (opt.kink_policy == KinkPolicy::kSkip) {
          skip[i][j] = 1;
        } else {
          x[j] = static_cast<float>(k + (d >= 0.0 ? 2.0 : -2.0) * margin);
        }
      }
  }

  // Analytic gradients: one backward with seed R on a private tape.
  std::vector<float> r;
  std::vector<std::vector<float>> analytic(inputs.size());
  {
    Tape tape;
    TapeScope scope(tape);
    for (const Tensor& t : inputs) t.zero_grad();
    Tensor out = f(inputs);
    if (!out.defined() || !out.requires_grad()) {
      res.ok = false;
      res.message = "gradcheck: the output does not require a gradient (no input requiring one reached it)";
      return res;
    }
    Rng rng(opt.seed);
    r.resize(static_cast<size_t>(out.numel()));
    for (float& v : r) {
      const float mag = rng.uniform(0.5f, 1.5f);
      v = rng.uniform() < 0.5f ? -mag : mag;
    }
    tape.backward(out, Tensor::from_vector(out.shape(), r));
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::string name = detail::input_name(opt, inputs, i);
      if (!inputs[i].requires_grad()) {
        if (inputs[i].has_grad()) fail(name + ": received a gradient but does not require one");
        continue;
      }
      if (!inputs[i].has_grad()) {
        analytic[i].assign(static_cast<size_t>(inputs[i].numel()), 0.0f);  // not reached: zero
      } else if (inputs[i].grad().shape() != inputs[i].shape()) {
        fail(name + ": gradient shape " + shape_str(inputs[i].grad().shape()) + " differs from the input's " +
             shape_str(inputs[i].shape()));
        continue;
      } else {
        analytic[i] = inputs[i].grad().to_vector();
      }
    }
    for (const Tensor& t : inputs) t.zero_grad();
  }

  // Numeric gradients by central differences, with gradients disabled.
  NoGradGuard no_grad;
  double worst_excess = -1.0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad() || analytic[i].empty()) continue;
    const std::string name = detail::input_name(opt, inputs, i);
    float* x = inputs[i].data();
    for (Index j = 0; j < inputs[i].numel(); ++j) {
      if (skip[i][j]) {
        ++res.skipped;
        continue;
      }
      const float v = x[j];
      const float plus = static_cast<float>(v + opt.eps), minus = static_cast<float>(v - opt.eps);
      x[j] = plus;
      const double lp = detail::weighted_sum(f(inputs), r);
      x[j] = minus;
      const double lm = detail::weighted_sum(f(inputs), r);
      x[j] = v;
      // The step actually taken in float, not the nominal 2 * eps.
      const double numeric = (lp - lm) / (static_cast<double>(plus) - static_cast<double>(minus));
      const double a = analytic[i][static_cast<size_t>(j)];
      const double err = std::fabs(a - numeric);
      const double scale = std::max(std::fabs(a), std::fabs(numeric));
      const double tol = opt.atol + opt.rtol * std::fabs(numeric);
      ++res.checked;
      res.max_abs_err = std::max(res.max_abs_err, err);
      if (scale > opt.atol) res.max_rel_err = std::max(res.max_rel_err, err / scale);
      if (err - tol > worst_excess) {
        worst_excess = err - tol;
        res.worst_input = name;
        res.worst_index = j;
        res.worst_analytic = a;
        res.worst_numeric = numeric;
      }
      if (!(err <= tol)) {  // also catches NaN
        std::ostringstream line;
        line << name << "[" << j << "]: analytic " << a << ", numeric " << numeric << ", error " << err
             << " > tolerance " << tol;
        fail(line.str());
      }
    }
  }

  std::ostringstream msg;
  msg << "gradcheck " << (res.ok ? "passed" : "FAILED") << ": " << res.checked << " elements checked, "
      << res.skipped << " skipped, " << res.failed << " failed; max abs error " << res.max_abs_err
      << ", max rel error " << res.max_rel_err;
  if (res.worst_index >= 0)
    msg << "; worst " << res.worst_input << "[" << res.worst_index << "] (analytic " << res.worst_analytic
        << ", numeric " << res.worst_numeric << ")";
  msg << failures.str();
  res.message = msg.str();
  return res;
}

// A tensor of the given shape with uniform values in [lo, hi), requiring a gradient.
inline Tensor random_input(const Shape& shape, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Rng rng(seed);
  Tensor t(shape);
  float* d = t.data();
  for (Index i = 0; i < t.numel(); ++i) d[i] = rng.uniform(lo, hi);
  t.set_requires_grad(true);
  return t;
}

}  // namespace lagrad::testing
