// LR schedules: values at and around the boundaries, validation, and applying to an optimizer.
#include <doctest/doctest.h>

#include <cmath>

#include "optim/lr_schedule.h"
#include "optim/sgd.h"

using namespace lagrad;

TEST_CASE("dlf schedule: the factor halves just after each boundary") {
  const LrSchedule s = LrSchedule::dlf();
  CHECK(s.factor(0) == 1.0);
  CHECK(s.factor(25000) == 1.0);  // DLF: factor changes when step > boundary
  CHECK(s.factor(25001) == 0.5);
  CHECK(s.factor(30000) == 0.5);
  CHECK(s.factor(30001) == 0.25);
  CHECK(s.factor(35001) == 0.125);
  CHECK(s.factor(40001) == 0.0625);
  CHECK(s.factor(45000) == 0.0625);
  CHECK(s.factor(45001) == 0.03125);
  CHECK(s.factor(10000000) == 0.03125);
  CHECK(s.lr(0.001f, 30001) == doctest::Approx(0.00025));
  CHECK(s.describe() ==
        "piecewise_constant(boundaries=[25000, 30000, 35000, 40000, 45000], factors=[1, 0.5, 0.25, 0.125, 0.0625, "
        "0.03125])");
}

TEST_CASE("piecewise_constant validates its arguments") {
  CHECK_THROWS_WITH_AS(LrSchedule::piecewise_constant({10, 20}, {1.0, 0.5}),
                       "LrSchedule::piecewise_constant: expected boundaries.size() + 1 = 3 factors, got 2",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(LrSchedule::piecewise_constant({20, 10}, {1.0, 0.5, 0.1}),
                       "LrSchedule::piecewise_constant: boundaries must be strictly increasing, got [20, 10]",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(LrSchedule::piecewise_constant({10}, {1.0, -0.5}),
                       doctest::Contains("factors must be finite and >= 0"), std::invalid_argument);
  CHECK(LrSchedule::piecewise_constant({}, {0.3}).factor(99) == 0.3);
  CHECK_THROWS_WITH_AS(LrSchedule::constant().factor(-1), "LrSchedule::factor: step must be >= 0, got -1",
                       std::invalid_argument);
}

TEST_CASE("step_decay and exponential") {
  const LrSchedule s = LrSchedule::step_decay(100, 0.5);
  CHECK(s.factor(0) == 1.0);
  CHECK(s.factor(99) == 1.0);
  CHECK(s.factor(100) == 0.5);
  CHECK(s.factor(250) == 0.25);
  const LrSchedule e = LrSchedule::exponential(0.5, 10);
  CHECK(e.factor(0) == 1.0);
  CHECK(e.factor(10) == doctest::Approx(0.5));
  CHECK(e.factor(5) == doctest::Approx(std::sqrt(0.5)));
  CHECK(LrSchedule::exponential(0.99).factor(3) == doctest::Approx(0.99 * 0.99 * 0.99));
  CHECK_THROWS_WITH_AS(LrSchedule::step_decay(0, 0.5), "LrSchedule::step_decay: step_size must be >= 1, got 0",
                       std::invalid_argument);
  CHECK_THROWS_AS(LrSchedule::exponential(0.0), std::invalid_argument);
}

TEST_CASE("cosine with linear warm-up") {
  const LrSchedule s = LrSchedule::cosine(10, 110, 0.1);
  CHECK(s.factor(0) == doctest::Approx(0.1));   // (0 + 1) / 10
  CHECK(s.factor(4) == doctest::Approx(0.5));
  CHECK(s.factor(9) == doctest::Approx(1.0));   // warm-up ends at full lr
  CHECK(s.factor(10) == doctest::Approx(1.0));  // cosine starts at its top
  CHECK(s.factor(60) == doctest::Approx(0.1 + 0.9 * 0.5));  // half way down
  CHECK(s.factor(35) == doctest::Approx(0.1 + 0.9 * 0.5 * (1.0 + std::cos(M_PI * 0.25))));
  CHECK(s.factor(110) == doctest::Approx(0.1));
  CHECK(s.factor(1000) == doctest::Approx(0.1));
  CHECK(LrSchedule::cosine(0, 100).factor(0) == doctest::Approx(1.0));
  CHECK_THROWS_WITH_AS(LrSchedule::cosine(10, 10), "LrSchedule::cosine: total_steps must be > warmup_steps = 10, got 10",
                       std::invalid_argument);
  CHECK_THROWS_AS(LrSchedule::cosine(0, 10, 1.5), std::invalid_argument);
}

TEST_CASE("apply sets the optimizer's lr from its step count") {
  Tensor w = Tensor::from_vector({1}, {0.0f});
  w.set_requires_grad(true);
  SGD opt({{"w", w}}, SGDOptions().lr(1.0f));
  const LrSchedule s = LrSchedule::piecewise_constant({1}, {1.0, 0.1});
  std::vector<float> lrs;
  for (int i = 0; i < 3; ++i) {
    s.apply(opt, 2.0f);
    lrs.push_back(opt.lr());
    w.zero_grad();
    w.accumulate_grad(Tensor::from_vector({1}, {1.0f}));
    opt.step();
  }
  CHECK(lrs[0] == doctest::Approx(2.0));
  CHECK(lrs[1] == doctest::Approx(2.0));
  CHECK(lrs[2] == doctest::Approx(0.2));
  CHECK(w.data()[0] == doctest::Approx(-4.2));
}
