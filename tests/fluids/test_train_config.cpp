#include <doctest/doctest.h>

#include <stdexcept>

#include "fluids/train_config.h"

using namespace lagrad;

TEST_CASE("train config: the original's defaults") {
  const TrainConfig c = parse_train_config("dataset_dir: data\n");
  CHECK(c.dataset_dir == "data");
  CHECK(c.train_data.random_rotation);
  CHECK(c.training.max_iter == 50000);
  CHECK(c.training.base_lr == doctest::Approx(0.001));
  CHECK(c.training.batch_size == 16);
  CHECK(c.training.adam_eps == doctest::Approx(1e-6));
  CHECK(c.training.lr_boundaries == std::vector<std::int64_t>{25000, 30000, 35000, 40000, 45000});
  CHECK(c.training.lr_factors == std::vector<double>{1, 0.5, 0.25, 0.125, 0.0625, 0.03125});
  CHECK(c.model.filter_extent() == doctest::Approx(0.225));
  CHECK(c.model.kernel_size == std::array<int, 3>{4, 4, 4});
  CHECK(c.model.layer_channels == std::vector<int>{32, 64, 64, 3});
  CHECK(c.model.gravity[1] == doctest::Approx(-9.81));
  CHECK(c.evaluation.scale == 1.0f);
}

TEST_CASE("train config: values are read from their sections") {
  const TrainConfig c = parse_train_config(
      "dataset_dir: /d\n"
      "train_data:\n  random_rotation: false\n"
      "model:\n  timestep: 0.01\n  gravity: [0, -1, 0]\n  kernel_size: [3, 3, 3]\n"
      "evaluation:\n  scale: 2.5\n"
      "training:\n  max_iter: 10\n  batch_size: 2\n  lr_boundaries: [5]\n  lr_factors: [1, 0.1]\n  seed: 9\n");
  CHECK_FALSE(c.train_data.random_rotation);
  CHECK(c.model.timestep == doctest::Approx(0.01));
  CHECK(c.model.gravity[1] == -1.0f);
  CHECK(c.model.kernel_size[0] == 3);
  CHECK(c.evaluation.scale == 2.5f);
  CHECK(c.training.max_iter == 10);
  CHECK(c.training.batch_size == 2);
  CHECK(c.training.seed == 9);
}

TEST_CASE("train config: bad keys and values are reported with their line") {
  CHECK_THROWS_WITH_AS(parse_train_config("dataset_dir: d\ntraining:\n  batch_size: 0\n"),
                       "config line 3: training.batch_size must be in [1, 4096], got '0'", std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_train_config("dataset_dir: d\nmodel:\n  kernal_size: [4, 4, 4]\n"),
                       doctest::Contains("config line 3: model.kernal_size is not a known key"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_train_config("dataset_dir: d\ntraining:\n  base_lr: fast\n"),
                       "config line 3: training.base_lr must be a number, got 'fast'", std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_train_config("dataset_dir: d\nmodel:\n  interpolation: cubic\n"),
                       doctest::Contains("model.interpolation must be one of linear, linear_border, nearest_neighbor"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_train_config("train_data:\n  random_rotation: true\n"),
                       "config: dataset_dir is required", std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_train_config("dataset_dir: d\ntraining:\n  lr_boundaries: [1, 2]\n"),
                       doctest::Contains("lr_factors must have one more entry"), std::invalid_argument);
  CHECK_THROWS_AS(parse_train_config("dataset_dir: [unclosed\n"), std::invalid_argument);
}

TEST_CASE("model config: YAML round trip and model-only parsing") {
  ModelConfig m;
  m.timestep = 0.01f;
  m.gravity = {0.0f, -1.5f, 0.25f};
  m.layer_channels = {8, 16, 3};
  m.interpolation = "nearest_neighbor";
  m.use_window = false;
  const ModelConfig r = parse_model_config(model_config_yaml(m));
  CHECK(r.timestep == m.timestep);
  CHECK(r.gravity == m.gravity);
  CHECK(r.layer_channels == m.layer_channels);
  CHECK(r.interpolation == m.interpolation);
  CHECK(r.use_window == false);
  CHECK(r.kernel_size == m.kernel_size);
  // Other sections are ignored; a missing model section gives the defaults.
  CHECK(parse_model_config("dataset_dir: x\ntraining:\n  max_iter: 3\n").layer_channels == std::vector<int>{32, 64, 64, 3});
}
