#pragma once
// The training configuration of `lagrad train CONFIG.yaml`.
//
// Keys follow DeepLagrangianFluids' YAML configs (dataset_dir, train_data.random_rotation,
// model.*, evaluation.scale) plus the training settings the original hard-codes in its
// training script, with the original's defaults. See docs/user_guide.md for every key.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace lagrad {

struct ModelConfig {
  std::array<int, 3> kernel_size{4, 4, 4};
  float radius_scale = 1.5f;
  float particle_radius = 0.025f;
  float timestep = 1.0f / 50.0f;
  std::array<float, 3> gravity{0.0f, -9.81f, 0.0f};
  std::vector<int> layer_channels{32, 64, 64, 3};
  std::string coordinate_mapping = "ball_to_cube_volume_preserving";
  std::string interpolation = "linear";
  bool use_window = true;
  int other_feats_channels = 0;
  // Filter extent (diameter) = radius_scale * 6 * particle_radius (0.225 by default).
  float filter_extent() const { return radius_scale * 6.0f * particle_radius; }
};

struct TrainDataConfig {
  bool random_rotation = true;
  int shuffle_buffer = 512;   // samples held for shuffling (the original's buffer)
  int prefetch = 4;           // batches decoded ahead on a background thread
};

struct EvaluationConfig {
  float scale = 1.0f;         // errors are reported for positions multiplied by this
  int frame_skip = 20;        // windows start every frame_skip frames (the original trains with 20)
  int max_scenes = 0;         // 0: all validation scenes
};

struct TrainingConfig {
  std::int64_t max_iter = 50000;
  float base_lr = 0.001f;
  int batch_size = 16;
  std::vector<std::int64_t> lr_boundaries{25000, 30000, 35000, 40000, 45000};
  std::vector<double> lr_factors{1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125};
  float adam_eps = 1e-6f;
  float adam_beta1 = 0.9f;
  float adam_beta2 = 0.999f;
  float clip_grad_norm = 0.0f;        // 0: off (the original does not clip)
  std::int64_t checkpoint_interval = 1000;
  int keep_last_checkpoints = 3;      // the newest few are always kept
  std::int64_t keep_checkpoint_every = 10000;  // and every k-th step's checkpoint forever (0: none)
  std::int64_t eval_interval = 1000;  // 0: no evaluation during training
  std::int64_t log_interval = 10;
  std::uint64_t seed = 0;
  int threads = 0;                    // 0: all cores
  // Samples of a batch computed concurrently (each keeps its intermediates until its backward):
  // 0 = one per thread. Results are bitwise the same for any value.
  int max_samples_in_flight = 0;
  bool position_gradients = false;    // the original's convolutions pass no gradient to positions
};

struct TrainConfig {
  std::string dataset_dir;
  TrainDataConfig train_data;
  ModelConfig model;
  EvaluationConfig evaluation;
  TrainingConfig training;
  std::string source_text;  // the YAML as given, stored in checkpoints
};

// Parses YAML text. Unknown keys, wrong types and out-of-range values throw
// std::invalid_argument naming the key, the value and the line ("config line 7: training.batch_size
// must be >= 1, got 0").
TrainConfig parse_train_config(const std::string& yaml_text);
// Only the `model:` section of a config (other keys are ignored); used for the config stored
// in a checkpoint.
ModelConfig parse_model_config(const std::string& yaml_text);
// Only the `evaluation:` section (defaults where absent); used for a checkpoint's evaluation.scale.
EvaluationConfig parse_evaluation_config(const std::string& yaml_text);
// The YAML of a model config (round-trips through parse_model_config).
std::string model_config_yaml(const ModelConfig& model);
// Reads the file; a relative dataset_dir is resolved against the config file's folder.
TrainConfig load_train_config(const std::string& path);

}  // namespace lagrad
