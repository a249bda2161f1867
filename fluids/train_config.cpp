#include "fluids/train_config.h"

#include "core/number_format.h"

#include <yaml-cpp/yaml.h>

#include "core/read_file.h"
#include "fluids/yaml_depth.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

namespace lagrad {

namespace {

// Limits on config values (docs/user_guide_training.md, "Limits"): generous for any real run,
// small enough that a typo cannot make the trainer allocate gigabytes or hang.
constexpr int kMaxKernelDim = 16;            // upstream uses 4
constexpr int kMaxChannels = 4096;
constexpr size_t kMaxLayers = 64;
constexpr double kMaxLayerParameters = 1 << 26;  // floats in one convolution kernel (256 MiB)
constexpr int kMaxBatchSize = 4096;
constexpr int kMaxShuffleBuffer = 1 << 16;
constexpr int kMaxPrefetch = 1024;
constexpr int kMaxThreads = 4096;
constexpr int kMaxYamlDepth = 64;
constexpr size_t kMaxConfigBytes = 1 << 20;

std::string where(const YAML::Node& n, const std::string& key) {
  const auto mark = n.Mark();
  return "config line " + std::to_string(mark.line + 1) + ": " + key;
}

template <class T>
T read_scalar(const YAML::Node& n, const std::string& key, const char* type_name) {
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    throw std::invalid_argument(where(n, key) + " must be " + type_name + ", got '" +
                                (n.IsScalar() ? n.Scalar() : std::string("a non-scalar")) + "'");
  }
}

template <class T>
std::vector<T> read_list(const YAML::Node& n, const std::string& key, const char* type_name) {
  if (!n.IsSequence()) throw std::invalid_argument(where(n, key) + " must be a list of " + type_name);
  std::vector<T> out;
  for (const auto& item : n) out.push_back(read_scalar<T>(item, key, type_name));
  return out;
}

void require(bool ok, const YAML::Node& n, const std::string& key, const std::string& rule) {
  if (!ok)
    throw std::invalid_argument(where(n, key) + " " + rule + ", got '" +
                                (n.IsScalar() ? n.Scalar() : std::string("a list")) + "'");
}

// A section maps each allowed key to a reader; keys not in the table are errors.
using Reader = std::function<void(const YAML::Node&, const std::string&)>;

void read_section(const YAML::Node& node, const std::string& prefix, const std::map<std::string, Reader>& readers) {
  if (!node.IsMap()) throw std::invalid_argument(where(node, prefix.empty() ? "top level" : prefix) + " must be a map");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const std::string full = prefix.empty() ? key : prefix + "." + key;
    auto it = readers.find(key);
    if (it == readers.end()) {
      std::string known;
      for (auto& r : readers) known += (known.empty() ? "" : ", ") + r.first;
      throw std::invalid_argument(where(kv.first, full) + " is not a known key (known: " + known + ")");
    }
    it->second(kv.second, full);
  }
}

Reader positive_float(float& dst) {
  return [&dst](const YAML::Node& n, const std::string& k) {
    dst = read_scalar<float>(n, k, "a number");
    require(std::isfinite(dst) && dst > 0, n, k, "must be a positive number");
  };
}
// A finite number in (lo, hi].
Reader float_in(float& dst, float lo, float hi, const std::string& range) {
  return [&dst, lo, hi, range](const YAML::Node& n, const std::string& k) {
    dst = read_scalar<float>(n, k, "a number");
    require(std::isfinite(dst) && dst > lo && dst <= hi, n, k, "must be " + range);
  };
}
Reader nonneg_float(float& dst) {
  return [&dst](const YAML::Node& n, const std::string& k) {
    dst = read_scalar<float>(n, k, "a number");
    require(std::isfinite(dst) && dst >= 0, n, k, "must be >= 0");
  };
}
template <class Int>
Reader int_at_least(Int& dst, Int lo) {
  return [&dst, lo](const YAML::Node& n, const std::string& k) {
    dst = read_scalar<Int>(n, k, "an integer");
    require(dst >= lo, n, k, "must be >= " + std::to_string(lo));
  };
}
template <class Int>
Reader int_in(Int& dst, Int lo, Int hi) {
  return [&dst, lo, hi](const YAML::Node& n, const std::string& k) {
    dst = read_scalar<Int>(n, k, "an integer");
    require(dst >= lo && dst <= hi, n, k, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  };
}
Reader boolean(bool& dst) {
  return [&dst](const YAML::Node& n, const std::string& k) { dst = read_scalar<bool>(n, k, "true or false"); };
}
Reader one_of(std::string& dst, std::vector<std::string> choices) {
  return [&dst, choices](const YAML::Node& n, const std::string& k) {
    dst = read_scalar<std::string>(n, k, "a string");
    bool ok = false;
    std::string list;
    for (auto& c : choices) {
      ok |= c == dst;
      list += (list.empty() ? "" : ", ") + c;
    }
    require(ok, n, k, "must be one of " + list);
  };
}

void read_model_section(const YAML::Node& n, const std::string& k, ModelConfig& m) {
       read_section(n, k, {
         {"kernel_size", [&](const YAML::Node& v, const std::string& vk) {
            auto ks = read_list<int>(v, vk, "integers");
            bool ok = ks.size() == 3;
            for (int d : ks) ok &= d >= 1 && d <= kMaxKernelDim;
            require(ok, v, vk, "must be 3 integers in [1, " + std::to_string(kMaxKernelDim) + "]");
            m.kernel_size = {ks[0], ks[1], ks[2]};
          }},
         // Plausible ranges, so that a typo fails here and not after the training folder exists.
         {"radius_scale", float_in(m.radius_scale, 0, 10, "in (0, 10]")},
         {"particle_radius", float_in(m.particle_radius, 0, 1, "in (0, 1] (metres)")},
         {"timestep", float_in(m.timestep, 0, 1, "in (0, 1] (seconds)")},
         {"gravity", [&](const YAML::Node& v, const std::string& vk) {
            auto g = read_list<float>(v, vk, "numbers");
            bool ok = g.size() == 3;
            for (float x : g) ok &= std::isfinite(x) && std::abs(x) <= 1000;
            require(ok, v, vk, "must be 3 finite numbers of magnitude <= 1000 (m/s^2)");
            m.gravity = {g[0], g[1], g[2]};
          }},
         {"layer_channels", [&](const YAML::Node& v, const std::string& vk) {
            if (v.IsSequence()) require(v.size() <= kMaxLayers, v, vk, "must have at most " + std::to_string(kMaxLayers) + " entries");
            m.layer_channels = read_list<int>(v, vk, "integers");
            bool ok = m.layer_channels.size() >= 2 && m.layer_channels.back() == 3;
            for (int ch : m.layer_channels) ok &= ch >= 1 && ch <= kMaxChannels;
            require(ok, v, vk, "must be >= 2 integers in [1, " + std::to_string(kMaxChannels) +
                                   "] ending in 3 (the position correction)");
          }},
         {"coordinate_mapping", one_of(m.coordinate_mapping, {"ball_to_cube_radial", "ball_to_cube_volume_preserving", "identity"})},
         {"interpolation", one_of(m.interpolation, {"linear", "linear_border", "nearest_neighbor"})},
         {"use_window", boolean(m.use_window)},
         {"other_feats_channels", int_in(m.other_feats_channels, 0, kMaxChannels)},
       });
       // The largest tensor is a convolution kernel: kd*kh*kw*in*out floats.
       const double kernel_points = double(m.kernel_size[0]) * m.kernel_size[1] * m.kernel_size[2];
       double widest = 0;
       for (size_t i = 0; i + 1 < m.layer_channels.size(); ++i)
         widest = std::max(widest, double(m.layer_channels[i] + m.other_feats_channels + 4) * m.layer_channels[i + 1]);
       if (kernel_points * widest > kMaxLayerParameters)
         throw std::invalid_argument("config: " + k + ": a convolution of kernel_size " + std::to_string(m.kernel_size[0]) +
                                     "x" + std::to_string(m.kernel_size[1]) + "x" + std::to_string(m.kernel_size[2]) +
                                     " and these layer_channels would have more than " +
                                     std::to_string(static_cast<long long>(kMaxLayerParameters)) + " parameters");
     }

void read_evaluation_section(const YAML::Node& n, const std::string& k, EvaluationConfig& e) {
  read_section(n, k, {{"scale", positive_float(e.scale)},
                      {"frame_skip", int_at_least(e.frame_skip, 3)},
                      {"max_scenes", int_at_least(e.max_scenes, 0)}});
}

void check_config_text(const std::string& text, const char* what) {
  if (text.size() > kMaxConfigBytes)
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(text.size()) + " bytes, more than the " +
                                std::to_string(kMaxConfigBytes) + " a config may have");
  check_yaml_depth(text, kMaxYamlDepth, what);
}

YAML::Node load_yaml(const std::string& yaml_text, const char* what) {
  check_config_text(yaml_text, what);
  try {
    return YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument(std::string(what) + ": not valid YAML: " + e.what());
  }
}

// `text` with the top-level dataset_dir's value replaced by `dir` (double-quoted). The rest of
// the text, comments included, is kept; a note records the value as written.
std::string with_dataset_dir(const std::string& text, const std::string& dir) {
  const YAML::Node root = YAML::Load(text);
  const YAML::Node value = root["dataset_dir"];
  const std::string written = value.Scalar();
  if (written == dir) return text;
  const auto mark = value.Mark();
  if (mark.pos < 0 || static_cast<size_t>(mark.pos) >= text.size()) return text;
  const size_t begin = static_cast<size_t>(mark.pos);
  if (text[begin] == '|' || text[begin] == '>') return text;  // a block scalar: left as written
  size_t end = text.find('\n', begin);
  if (end == std::string::npos) end = text.size();
  std::string quoted = "\"";
  for (char ch : dir) {
    if (ch == '"' || ch == '\\') quoted += '\\';
    quoted += ch;
  }
  quoted += "\"";
  std::string note = "  # resolved by lagrad from '" + written + "'";
  for (char& ch : note)
    if (ch == '\n' || ch == '\r') ch = ' ';
  return text.substr(0, begin) + quoted + note + text.substr(end);
}

}  // namespace

ModelConfig parse_model_config(const std::string& yaml_text) {
  ModelConfig m;
  const YAML::Node root = load_yaml(yaml_text, "model config");
  if (root && root.IsMap() && root["model"]) read_model_section(root["model"], "model", m);
  return m;
}

EvaluationConfig parse_evaluation_config(const std::string& yaml_text) {
  EvaluationConfig e;
  const YAML::Node root = load_yaml(yaml_text, "evaluation config");
  if (root && root.IsMap() && root["evaluation"]) read_evaluation_section(root["evaluation"], "evaluation", e);
  return e;
}

std::string model_config_yaml(const ModelConfig& m) {
  // Floats as typed (shortest round trip): the text reads back to the same values.
  auto f = [](float v) { return shortest_float(v); };
  std::ostringstream os;
  os << "model:\n"
     << "  kernel_size: [" << m.kernel_size[0] << ", " << m.kernel_size[1] << ", " << m.kernel_size[2] << "]\n"
     << "  radius_scale: " << f(m.radius_scale) << "\n"
     << "  particle_radius: " << f(m.particle_radius) << "\n"
     << "  timestep: " << f(m.timestep) << "\n"
     << "  gravity: [" << f(m.gravity[0]) << ", " << f(m.gravity[1]) << ", " << f(m.gravity[2]) << "]\n"
     << "  layer_channels: [";
  for (size_t i = 0; i < m.layer_channels.size(); ++i) os << (i ? ", " : "") << m.layer_channels[i];
  os << "]\n"
     << "  coordinate_mapping: " << m.coordinate_mapping << "\n"
     << "  interpolation: " << m.interpolation << "\n"
     << "  use_window: " << (m.use_window ? "true" : "false") << "\n"
     << "  other_feats_channels: " << m.other_feats_channels << "\n";
  return os.str();
}

TrainConfig parse_train_config(const std::string& yaml_text) {
  const YAML::Node root = load_yaml(yaml_text, "config");
  TrainConfig c;
  c.source_text = yaml_text;
  if (!root || root.IsNull()) throw std::invalid_argument("config: empty (dataset_dir is required)");
  auto& m = c.model;
  auto& t = c.training;
  read_section(root, "", {
    {"dataset_dir", [&](const YAML::Node& n, const std::string& k) {
       c.dataset_dir = read_scalar<std::string>(n, k, "a path");
       require(!c.dataset_dir.empty(), n, k, "must not be empty");
     }},
    {"train_data", [&](const YAML::Node& n, const std::string& k) {
       read_section(n, k, {{"random_rotation", boolean(c.train_data.random_rotation)},
                           {"window", [&](const YAML::Node& w, const std::string& wk) {
                              require(read_scalar<int>(w, wk, "an integer") == 3, w, wk,
                                      "must be 3 (the training step uses 3 frames)");
                            }},
                           {"shuffle_buffer", int_in(c.train_data.shuffle_buffer, 1, kMaxShuffleBuffer)},
                           {"prefetch", int_in(c.train_data.prefetch, 1, kMaxPrefetch)}});
     }},
    {"model", [&](const YAML::Node& n, const std::string& k) { read_model_section(n, k, m); }},
    {"evaluation", [&](const YAML::Node& n, const std::string& k) { read_evaluation_section(n, k, c.evaluation); }},
    {"training", [&](const YAML::Node& n, const std::string& k) {
       read_section(n, k, {
         {"max_iter", int_at_least<std::int64_t>(t.max_iter, 1)},
         {"base_lr", positive_float(t.base_lr)},
         {"batch_size", int_in(t.batch_size, 1, kMaxBatchSize)},
         {"lr_boundaries", [&](const YAML::Node& v, const std::string& vk) {
            t.lr_boundaries = read_list<std::int64_t>(v, vk, "integers");
          }},
         {"lr_factors", [&](const YAML::Node& v, const std::string& vk) {
            t.lr_factors = read_list<double>(v, vk, "numbers");
            bool ok = true;
            for (double f : t.lr_factors) ok &= std::isfinite(f) && f >= 0;
            require(ok, v, vk, "must be finite numbers >= 0");
          }},
         {"adam_eps", positive_float(t.adam_eps)},
         {"adam_beta1", nonneg_float(t.adam_beta1)},
         {"adam_beta2", nonneg_float(t.adam_beta2)},
         {"clip_grad_norm", nonneg_float(t.clip_grad_norm)},
         {"checkpoint_interval", int_at_least<std::int64_t>(t.checkpoint_interval, 1)},
         {"keep_last_checkpoints", int_at_least(t.keep_last_checkpoints, 1)},
         {"keep_checkpoint_every", int_at_least<std::int64_t>(t.keep_checkpoint_every, 0)},
         {"eval_interval", int_at_least<std::int64_t>(t.eval_interval, 0)},
         {"log_interval", int_at_least<std::int64_t>(t.log_interval, 1)},
         {"seed", [&](const YAML::Node& v, const std::string& vk) { t.seed = read_scalar<std::uint64_t>(v, vk, "a non-negative integer"); }},
         {"threads", int_in(t.threads, 0, kMaxThreads)},
         {"max_samples_in_flight", int_in(t.max_samples_in_flight, 0, kMaxBatchSize)},
         {"position_gradients", boolean(t.position_gradients)},
       });
     }},
  });
  if (c.dataset_dir.empty()) throw std::invalid_argument("config: dataset_dir is required");
  if (t.lr_factors.size() != t.lr_boundaries.size() + 1)
    throw std::invalid_argument("config: training.lr_factors must have one more entry than training.lr_boundaries (" +
                                std::to_string(t.lr_factors.size()) + " vs " + std::to_string(t.lr_boundaries.size()) + ")");
  for (size_t i = 1; i < t.lr_boundaries.size(); ++i)
    if (t.lr_boundaries[i] <= t.lr_boundaries[i - 1])
      throw std::invalid_argument("config: training.lr_boundaries must be strictly increasing");
  if (t.adam_beta1 >= 1 || t.adam_beta2 >= 1)
    throw std::invalid_argument("config: training.adam_beta1 and adam_beta2 must be in [0, 1)");
  return c;
}

TrainConfig load_train_config(const std::string& path) {
  std::string text;
  try {
    text = read_file_bytes(path, "config", kMaxConfigBytes);
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(e.what());  // a wrong path is bad input, like a bad value
  }
  TrainConfig c;
  try {
    c = parse_train_config(text);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(path + ": " + e.what());
  }
  namespace fs = std::filesystem;
  fs::path d(c.dataset_dir);
  if (d.is_relative()) d = fs::path(path).parent_path() / d;
  c.dataset_dir = fs::absolute(d).lexically_normal().string();
  // The config is stored in the training directory and in checkpoints: it must name the same
  // dataset from there.
  c.source_text = with_dataset_dir(c.source_text, c.dataset_dir);
  return c;
}

}  // namespace lagrad
