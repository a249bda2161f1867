#include "fluids/config_diff.h"

#include <algorithm>
#include <sstream>
#include <type_traits>

#include "core/number_format.h"

namespace lagrad {

namespace {

template <class T>
std::string list(const T& values) {
  std::ostringstream os;
  os << '[';
  bool first = true;
  for (const auto& v : values) {
    os << (first ? "" : ", ");
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, float>)
      os << shortest_float(v);
    else if constexpr (std::is_same_v<std::decay_t<decltype(v)>, double>)
      os << shortest_double(v);
    else
      os << v;
    first = false;
  }
  os << ']';
  return os.str();
}

std::string text(bool b) { return b ? "true" : "false"; }
std::string text(float v) { return shortest_float(v); }
template <class Int>
std::string text(Int v) { return std::to_string(v); }

}  // namespace

std::map<std::string, std::string> config_values(const TrainConfig& c) {
  const ModelConfig& m = c.model;
  const TrainingConfig& t = c.training;
  return {
      {"train_data.random_rotation", text(c.train_data.random_rotation)},
      {"train_data.shuffle_buffer", text(c.train_data.shuffle_buffer)},
      {"train_data.prefetch", text(c.train_data.prefetch)},
      {"model.kernel_size", list(m.kernel_size)},
      {"model.radius_scale", text(m.radius_scale)},
      {"model.particle_radius", text(m.particle_radius)},
      {"model.timestep", text(m.timestep)},
      {"model.gravity", list(m.gravity)},
      {"model.layer_channels", list(m.layer_channels)},
      {"model.coordinate_mapping", m.coordinate_mapping},
      {"model.interpolation", m.interpolation},
      {"model.use_window", text(m.use_window)},
      {"model.other_feats_channels", text(m.other_feats_channels)},
      {"evaluation.scale", text(c.evaluation.scale)},
      {"evaluation.frame_skip", text(c.evaluation.frame_skip)},
      {"evaluation.max_scenes", text(c.evaluation.max_scenes)},
      {"training.max_iter", text(t.max_iter)},
      {"training.base_lr", text(t.base_lr)},
      {"training.batch_size", text(t.batch_size)},
      {"training.lr_boundaries", list(t.lr_boundaries)},
      {"training.lr_factors", list(t.lr_factors)},
      {"training.adam_eps", text(t.adam_eps)},
      {"training.adam_beta1", text(t.adam_beta1)},
      {"training.adam_beta2", text(t.adam_beta2)},
      {"training.clip_grad_norm", text(t.clip_grad_norm)},
      {"training.checkpoint_interval", text(t.checkpoint_interval)},
      {"training.keep_last_checkpoints", text(t.keep_last_checkpoints)},
      {"training.keep_checkpoint_every", text(t.keep_checkpoint_every)},
      {"training.eval_interval", text(t.eval_interval)},
      {"training.log_interval", text(t.log_interval)},
      {"training.seed", text(t.seed)},
      {"training.threads", text(t.threads)},
      {"training.position_gradients", text(t.position_gradients)},
  };
}

const std::vector<std::string>& resume_fixed_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& [key, value] : config_values(TrainConfig{}))
      if (key.rfind("model.", 0) == 0) k.push_back(key);
    for (const char* key : {"train_data.random_rotation", "train_data.shuffle_buffer", "training.base_lr",
                            "training.batch_size", "training.lr_boundaries", "training.lr_factors", "training.adam_eps",
                            "training.adam_beta1", "training.adam_beta2", "training.clip_grad_norm", "training.seed",
                            "training.position_gradients"})
      k.push_back(key);
    std::sort(k.begin(), k.end());
    return k;
  }();
  return keys;
}

std::vector<ConfigChange> resume_conflicts(const TrainConfig& checkpointed, const TrainConfig& now) {
  const auto before = config_values(checkpointed), after = config_values(now);
  std::vector<ConfigChange> out;
  for (const std::string& key : resume_fixed_keys())
    if (before.at(key) != after.at(key)) out.push_back({key, before.at(key), after.at(key)});
  return out;
}

std::string describe_changes(const std::vector<ConfigChange>& changes) {
  std::string s;
  for (const auto& c : changes)
    s += (s.empty() ? "" : "; ") + c.key + ": " + c.before + " in the checkpoint, " + c.after + " now";
  return s;
}

}  // namespace lagrad
