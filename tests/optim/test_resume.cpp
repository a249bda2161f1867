// A run resumed from a checkpoint must reach bitwise the same parameters as an uninterrupted one.
#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <unistd.h>

#include "core/ops.h"
#include "core/random.h"
#include "core/tape.h"
#include "layers/dense.h"
#include "layers/losses.h"
#include "optim/adam.h"
#include "optim/checkpoint.h"
#include "optim/lr_schedule.h"

using namespace lagrad;

namespace {

struct Mlp : Module {
  std::shared_ptr<Dense> l1, l2;
  Mlp() {
    l1 = register_module("dense1", std::make_shared<Dense>(DenseOptions(16).in_features(3).activation("tanh")));
    l2 = register_module("dense2", std::make_shared<Dense>(DenseOptions(1).in_features(16)));
  }
  Tensor forward(const Tensor& x) { return l2->forward(l1->forward(x)); }
};

// One training step on a batch drawn from `rng` (so the data stream is part of the state).
void train_step(Mlp& model, Adam& opt, const LrSchedule& sched, Rng& rng) {
  std::vector<float> x(32 * 3), y(32);
  for (int i = 0; i < 32; ++i) {
    for (int k = 0; k < 3; ++k) x[3 * i + k] = rng.uniform(-1, 1);
    y[i] = std::sin(x[3 * i]) * std::cos(x[3 * i + 1]) + x[3 * i + 2] * x[3 * i + 2];
  }
  opt.zero_grad();
  Tensor loss = mse_loss(model.forward(Tensor::from_vector({32, 3}, x)), Tensor::from_vector({32, 1}, y));
  backward(loss);
  sched.apply(opt, 0.01f);
  opt.step();
}

}  // namespace

TEST_CASE("resume: save at step 7, restore into fresh objects, continue to 15: bitwise equal") {
  const LrSchedule sched = LrSchedule::piecewise_constant({5, 10}, {1.0, 0.5, 0.25});
  const std::string path =
      (std::filesystem::temp_directory_path() / ("lagrad_resume_" + std::to_string(::getpid()))).string();

  manual_seed(3);
  Mlp a;
  Adam opt_a(a.named_parameters(), AdamOptions().lr(0.01f).eps(1e-6f));
  Rng data_a(11);
  for (int s = 0; s < 15; ++s) train_step(a, opt_a, sched, data_a);

  manual_seed(3);
  Mlp b;
  Adam opt_b(b.named_parameters(), AdamOptions().lr(0.01f).eps(1e-6f));
  Rng data_b(11);
  for (int s = 0; s < 7; ++s) train_step(b, opt_b, sched, data_b);
  Checkpoint c;
  c.step = 7;
  c.model = model_state(b);
  c.optimizer = opt_b.state_tensors();
  c.optimizer_step = opt_b.step_count();
  c.schedule = sched.describe();
  c.rng_state = data_b.state();
  save_checkpoint(path, c);

  manual_seed(99);  // different initialization: everything must come from the checkpoint
  Mlp r;
  Adam opt_r(r.named_parameters(), AdamOptions().lr(0.01f).eps(1e-6f));
  const Checkpoint loaded = load_checkpoint(path);
  load_model_state(r, loaded.model);
  opt_r.load_state(loaded.optimizer, loaded.optimizer_step);
  Rng data_r;
  data_r.set_state(loaded.rng_state);
  for (int s = 7; s < 15; ++s) train_step(r, opt_r, sched, data_r);

  const auto pa = a.named_parameters(), pr = r.named_parameters();
  REQUIRE(pa.size() == pr.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    INFO(pa[i].first);
    CHECK(pa[i].second.to_vector() == pr[i].second.to_vector());
  }
  // And the run really moved: resumed parameters differ from the step-7 ones.
  CHECK(pr[0].second.to_vector() != loaded.model[0].second.to_vector());
  std::filesystem::remove(path);
}
