#include "optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "optim/optimizer.h"

namespace lagrad {

namespace {

constexpr double kPi = 3.14159265358979323846;

void check(bool ok, const std::string& schedule, const std::string& what) {
  if (!ok) throw std::invalid_argument("LrSchedule::" + schedule + ": " + what);
}

template <class T>
std::string list_str(const std::vector<T>& xs) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < xs.size(); ++i) os << (i ? ", " : "") << xs[i];
  os << "]";
  return os.str();
}

}  // namespace

LrSchedule LrSchedule::constant() { return LrSchedule(Kind::Constant); }

LrSchedule LrSchedule::piecewise_constant(std::vector<Index> boundaries, std::vector<double> factors) {
  const std::string name = "piecewise_constant";
  check(factors.size() == boundaries.size() + 1, name,
        "expected boundaries.size() + 1 = " + std::to_string(boundaries.size() + 1) + " factors, got " +
            std::to_string(factors.size()));
  for (size_t i = 1; i < boundaries.size(); ++i)
    check(boundaries[i] > boundaries[i - 1], name,
          "boundaries must be strictly increasing, got " + list_str(boundaries));
  for (double f : factors)
    check(std::isfinite(f) && f >= 0.0, name, "factors must be finite and >= 0, got " + list_str(factors));
  LrSchedule s(Kind::Piecewise);
  s.boundaries_ = std::move(boundaries);
  s.factors_ = std::move(factors);
  return s;
}

LrSchedule LrSchedule::dlf() {
  return piecewise_constant({25000, 30000, 35000, 40000, 45000}, {1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125});
}

LrSchedule LrSchedule::step_decay(Index step_size, double gamma) {
  check(step_size >= 1, "step_decay", "step_size must be >= 1, got " + std::to_string(step_size));
  check(std::isfinite(gamma) && gamma >= 0.0, "step_decay", "gamma must be finite and >= 0, got " + std::to_string(gamma));
  LrSchedule s(Kind::StepDecay);
  s.period_ = step_size;
  s.gamma_ = gamma;
  return s;
}

LrSchedule LrSchedule::exponential(double gamma, Index decay_steps) {
  check(std::isfinite(gamma) && gamma > 0.0, "exponential", "gamma must be finite and > 0, got " + std::to_string(gamma));
  check(decay_steps >= 1, "exponential", "decay_steps must be >= 1, got " + std::to_string(decay_steps));
  LrSchedule s(Kind::Exponential);
  s.period_ = decay_steps;
  s.gamma_ = gamma;
  return s;
}

LrSchedule LrSchedule::cosine(Index warmup_steps, Index total_steps, double min_factor) {
  check(warmup_steps >= 0, "cosine", "warmup_steps must be >= 0, got " + std::to_string(warmup_steps));
  check(total_steps > warmup_steps, "cosine",
        "total_steps must be > warmup_steps = " + std::to_string(warmup_steps) + ", got " + std::to_string(total_steps));
  check(min_factor >= 0.0 && min_factor <= 1.0, "cosine", "min_factor must be in [0, 1], got " + std::to_string(min_factor));
  LrSchedule s(Kind::Cosine);
  s.warmup_ = warmup_steps;
  s.total_ = total_steps;
  s.gamma_ = min_factor;
  return s;
}

double LrSchedule::factor(Index step) const {
  if (step < 0) throw std::invalid_argument("LrSchedule::factor: step must be >= 0, got " + std::to_string(step));
  switch (kind_) {
    case Kind::Constant: return 1.0;
    case Kind::Piecewise: {
      // Index of the first boundary >= step = number of boundaries < step.
      const auto it = std::lower_bound(boundaries_.begin(), boundaries_.end(), step);
      return factors_[static_cast<size_t>(it - boundaries_.begin())];
    }
    case Kind::StepDecay: return std::pow(gamma_, static_cast<double>(step / period_));
    case Kind::Exponential: return std::pow(gamma_, static_cast<double>(step) / static_cast<double>(period_));
    case Kind::Cosine: {
      if (step < warmup_) return static_cast<double>(step + 1) / static_cast<double>(warmup_);
      if (step >= total_) return gamma_;
      const double progress = static_cast<double>(step - warmup_) / static_cast<double>(total_ - warmup_);
      return gamma_ + (1.0 - gamma_) * 0.5 * (1.0 + std::cos(kPi * progress));
    }
  }
  return 1.0;
}

void LrSchedule::apply(Optimizer& opt, float base_lr) const { opt.set_lr(lr(base_lr, opt.step_count())); }

std::string LrSchedule::describe() const {
  std::ostringstream os;
  switch (kind_) {
    case Kind::Constant: os << "constant()"; break;
    case Kind::Piecewise:
      os << "piecewise_constant(boundaries=" << list_str(boundaries_) << ", factors=" << list_str(factors_) << ")";
      break;
    case Kind::StepDecay: os << "step_decay(step_size=" << period_ << ", gamma=" << gamma_ << ")"; break;
    case Kind::Exponential: os << "exponential(gamma=" << gamma_ << ", decay_steps=" << period_ << ")"; break;
    case Kind::Cosine:
      os << "cosine(warmup_steps=" << warmup_ << ", total_steps=" << total_ << ", min_factor=" << gamma_ << ")";
      break;
  }
  return os.str();
}

}  // namespace lagrad
