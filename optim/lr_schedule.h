#pragma once
// Learning-rate schedules as pure functions of the step: lr(step) = base_lr * factor(step).
// The step (the number of updates already done, i.e. Optimizer::step_count() before the
// update) is the whole schedule state, so a checkpoint that stores the step restores the
// schedule exactly. Value type: copy it freely.
//
//   constant                    1
//   piecewise_constant(b, v)    v[i] where i = number of boundaries b[j] < step (b ascending,
//                               |v| = |b| + 1); so the factor changes just after a boundary
//   step_decay(n, gamma)        gamma^floor(step / n)
//   exponential(gamma, n)       gamma^(step / n)            (continuous)
//   cosine(w, T, min)           (step + 1) / w                              for step < w
//                               min + (1 - min) (1 + cos(pi (step - w) / (T - w))) / 2  for w <= step < T
//                               min                                         for step >= T
#include <string>
#include <vector>

#include "../core/shape.h"

namespace lagrad {

class Optimizer;

class LrSchedule {
 public:
  static LrSchedule constant();
  // Throws std::invalid_argument unless boundaries are strictly increasing and
  // factors.size() == boundaries.size() + 1 with finite, non-negative factors.
  static LrSchedule piecewise_constant(std::vector<Index> boundaries, std::vector<double> factors);
  // DeepLagrangianFluids: boundaries {25k, 30k, 35k, 40k, 45k}, factors 1, 1/2, ..., 1/32.
  static LrSchedule dlf();
  static LrSchedule step_decay(Index step_size, double gamma);       // step_size >= 1, gamma >= 0
  static LrSchedule exponential(double gamma, Index decay_steps = 1);  // gamma > 0, decay_steps >= 1
  // warmup_steps >= 0, total_steps > warmup_steps, min_factor in [0, 1].
  static LrSchedule cosine(Index warmup_steps, Index total_steps, double min_factor = 0.0);

  // The factor at `step` (>= 0; throws std::invalid_argument for a negative step).
  double factor(Index step) const;
  float lr(float base_lr, Index step) const { return static_cast<float>(base_lr * factor(step)); }
  // Sets opt's lr to lr(base_lr, opt.step_count()); call it before each opt.step().
  void apply(Optimizer& opt, float base_lr) const;

  // "piecewise_constant(boundaries=[25000, ...], factors=[1, 0.5, ...])": for logs and configs.
  std::string describe() const;

 private:
  enum class Kind { Constant, Piecewise, StepDecay, Exponential, Cosine };
  explicit LrSchedule(Kind kind) : kind_(kind) {}
  Kind kind_;
  std::vector<Index> boundaries_;
  std::vector<double> factors_;
  Index period_ = 1;   // step_size, decay_steps
  Index warmup_ = 0;
  Index total_ = 1;
  double gamma_ = 1.0;  // gamma, or min_factor for cosine
};

}  // namespace lagrad
