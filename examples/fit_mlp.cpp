// A first end-to-end example on the public API: fit a small MLP to
// f(x) = sin(2 x0) cos(x1) + 0.5 x2^2 on [-1, 1]^3, save a checkpoint, reload it into a fresh
// model and check that it predicts the same.
#include <lagrad/lagrad.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>

using namespace lagrad;

struct Mlp : Module {
  std::shared_ptr<Dense> d1, d2, d3;
  Mlp() {
    d1 = register_module("dense1", std::make_shared<Dense>(DenseOptions(64).in_features(3).activation("tanh")));
    d2 = register_module("dense2", std::make_shared<Dense>(DenseOptions(64).in_features(64).activation("tanh")));
    d3 = register_module("dense3", std::make_shared<Dense>(DenseOptions(1).in_features(64)));
  }
  Tensor forward(const Tensor& x) { return d3->forward(d2->forward(d1->forward(x))); }
};

static void make_batch(Rng& rng, Index n, Tensor& x, Tensor& y) {
  x = Tensor({n, 3});
  y = Tensor({n, 1});
  for (Index i = 0; i < n; ++i) {
    float* p = x.data() + 3 * i;
    for (int k = 0; k < 3; ++k) p[k] = rng.uniform(-1.0f, 1.0f);
    y.data()[i] = std::sin(2 * p[0]) * std::cos(p[1]) + 0.5f * p[2] * p[2];
  }
}

int main(int argc, char** argv) {
  // The checkpoint goes to the temp folder unless --checkpoint says where (not into the cwd).
  std::string ckpt_path = (std::filesystem::temp_directory_path() / "lagrad_fit_mlp.ckpt").string();
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--checkpoint") == 0) ckpt_path = argv[i + 1];
  try {
    manual_seed(0);
    Mlp model;
    Adam opt(model.named_parameters(), AdamOptions().lr(3e-3f));
    const LrSchedule schedule = LrSchedule::cosine(50, 2000, 0.05);
    Rng data(1);
    Tensor x, y, vx, vy;
    make_batch(data, 2048, vx, vy);  // a fixed validation set
    for (Index step = 0; step < 2000; ++step) {
      make_batch(data, 128, x, y);
      opt.zero_grad();
      Tensor loss = mse_loss(model.forward(x), y);
      backward(loss);
      schedule.apply(opt, 3e-3f);
      opt.step();
      if (step % 500 == 0) spdlog::info("step {:4d}  train mse {:.5f}", step, loss.item());
    }
    float val_mse;
    {
      NoGradGuard no_grad;
      val_mse = mse_loss(model.forward(vx), vy).item();
    }
    spdlog::info("validation mse {:.6f} (target < 1e-3)", val_mse);

    std::filesystem::create_directories(std::filesystem::absolute(ckpt_path).parent_path());
    Checkpoint ckpt;
    ckpt.step = opt.step_count();
    ckpt.model = model_state(model);
    ckpt.optimizer = opt.state_tensors();
    ckpt.optimizer_step = opt.step_count();
    save_checkpoint(ckpt_path, ckpt);

    manual_seed(123);
    Mlp restored;
    load_model_state(restored, load_checkpoint(ckpt_path).model);
    NoGradGuard no_grad;
    const bool same = restored.forward(vx).to_vector() == model.forward(vx).to_vector();
    spdlog::info("checkpoint {} reloaded: predictions {}", ckpt_path, same ? "identical" : "DIFFER");
    return (same && val_mse < 1e-3f) ? 0 : 1;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}
