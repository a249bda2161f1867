#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

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

TEST_CASE("train config: load_train_config stores dataset_dir resolved, in the config and its text") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("lagrad_cfg_" + std::to_string(::getpid()));
  fs::create_directories(dir / "configs");
  const std::string path = (dir / "configs" / "x.yaml").string();
  std::ofstream(path) << "# my run\ndataset_dir: ../data   # next to configs/\ntraining:\n  batch_size: 3\n";
  const lagrad::TrainConfig c = lagrad::load_train_config(path);
  const std::string expected = fs::absolute(dir / "data").lexically_normal().string();
  CHECK(c.dataset_dir == expected);
  CHECK(fs::path(c.dataset_dir).is_absolute());
  // The stored text names the same folder from anywhere, and keeps the rest as written.
  const lagrad::TrainConfig again = lagrad::parse_train_config(c.source_text);
  CHECK(again.dataset_dir == expected);
  CHECK(again.training.batch_size == 3);
  CHECK(c.source_text.rfind("# my run\n", 0) == 0);
  CHECK(c.source_text.find("resolved by lagrad from '../data'") != std::string::npos);
  // An absolute dataset_dir is left untouched.
  std::ofstream(path) << "dataset_dir: " << expected << "\n";
  CHECK(lagrad::load_train_config(path).source_text == "dataset_dir: " + expected + "\n");
  fs::remove_all(dir);
}

TEST_CASE("model config: the YAML holds floats as typed") {
  const std::string yaml = model_config_yaml(ModelConfig{});
  for (const char* expected : {"  radius_scale: 1.5\n", "  particle_radius: 0.025\n", "  timestep: 0.02\n",
                               "  gravity: [0, -9.81, 0]\n"})
    CHECK_MESSAGE(yaml.find(expected) != std::string::npos, "missing: " << expected << " in\n" << yaml);
}

TEST_CASE("train config: non-finite and implausible model values fail at parse time") {
  auto error_of = [](const std::string& yaml) -> std::string {
    try {
      parse_train_config("dataset_dir: data\n" + yaml);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "(no error)";
  };
  CHECK(error_of("model:\n  gravity: [0, .nan, 0]\n") ==
        "config line 3: model.gravity must be 3 finite numbers of magnitude <= 1000 (m/s^2), got 'a list'");
  CHECK(error_of("model:\n  timestep: 1e30\n") == "config line 3: model.timestep must be in (0, 1] (seconds), got '1e30'");
  CHECK(error_of("model:\n  particle_radius: .inf\n") ==
        "config line 3: model.particle_radius must be in (0, 1] (metres), got '.inf'");
  CHECK(error_of("training:\n  lr_factors: [1, .nan]\n  lr_boundaries: [10]\n") ==
        "config line 3: training.lr_factors must be finite numbers >= 0, got 'a list'");
  CHECK(error_of("model:\n  timestep: 0.04\n  gravity: [0, -3.7, 0]\n") == "(no error)");
}
