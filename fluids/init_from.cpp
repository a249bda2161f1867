#include "fluids/init_from.h"

#include <filesystem>
#include <map>
#include <sstream>
#include <stdexcept>

#include "core/shape.h"
#include "fluids/particle_network.h"
#include "fluids/trainer.h"
#include "optim/checkpoint.h"

namespace lagrad {

namespace {

std::string join(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : ", ") + p;
  return s;
}

// "key value" per line of model_config_yaml, so that a new model setting is compared without
// being listed here.
std::map<std::string, std::string> settings(const ModelConfig& m) {
  std::map<std::string, std::string> out;
  std::istringstream in(model_config_yaml(m));
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(": ");
    if (colon == std::string::npos) continue;  // the "model:" header
    out[line.substr(line.find_first_not_of(' '), colon - line.find_first_not_of(' '))] = line.substr(colon + 2);
  }
  return out;
}

std::vector<std::string> setting_changes(const ModelConfig& saved, const ModelConfig& config) {
  std::vector<std::string> out;
  const auto a = settings(saved), b = settings(config);
  for (const auto& [key, value] : b) {
    const auto it = a.find(key);
    if (it != a.end() && it->second != value)
      out.push_back(key + " " + it->second + " (checkpoint) vs " + value + " (config)");
  }
  return out;
}

const Tensor* find(const NamedTensors& tensors, const std::string& name) {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

}  // namespace

InitWeights read_init_weights(const std::string& checkpoint_or_dir, const ParticleNetwork& net) {
  namespace fs = std::filesystem;
  InitWeights w;
  w.checkpoint = checkpoint_or_dir;
  if (!fs::exists(checkpoint_or_dir))
    throw std::runtime_error("--init-from: no such file or directory '" + checkpoint_or_dir + "'");
  Checkpoint c;
  const bool dir = fs::is_directory(checkpoint_or_dir);
  if (dir) {
    try {
      w.checkpoint = load_newest_checkpoint(checkpoint_or_dir, c);  // robust against a trainer pruning
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("--init-from: ") + e.what());
    }
    if (w.checkpoint.empty())
      throw std::runtime_error("--init-from: no checkpoint in training directory '" + checkpoint_or_dir + "'");
  }
  ModelConfig saved;
  try {
    if (!dir) c = load_checkpoint(w.checkpoint);
    // A training checkpoint records its model in metadata; an imported one as its config.
    const auto it = c.metadata.find("model");
    saved = parse_model_config(it != c.metadata.end() ? it->second : c.config);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("--init-from: ") + e.what());
  }
  w.step = c.step;
  w.setting_changes = setting_changes(saved, net.config());

  // Every parameter must be there with its shape; buffers may be absent (the config sets them),
  // but a present one must have the buffer's shape; nothing else may be there.
  const NamedTensors params = net.named_parameters(), buffers = net.named_buffers();
  std::vector<std::string> differing;
  for (const auto& [name, t] : params) {
    const Tensor* s = find(c.model, name);
    if (!s)
      differing.push_back(name + " absent vs " + shape_str(t.shape()));
    else if (s->shape() != t.shape())
      differing.push_back(name + " " + shape_str(s->shape()) + " vs " + shape_str(t.shape()));
    else
      w.parameters.emplace_back(name, *s);
  }
  for (const auto& [name, t] : buffers) {
    const Tensor* s = find(c.model, name);
    if (s && s->shape() != t.shape())
      differing.push_back(name + " " + shape_str(s->shape()) + " vs " + shape_str(t.shape()));
  }
  for (const auto& [name, s] : c.model)
    if (!find(params, name) && !find(buffers, name))
      differing.push_back(name + " " + shape_str(s.shape()) + " vs absent");
  if (!differing.empty()) {
    std::string msg = "--init-from: the model in '" + w.checkpoint + "' does not match the config's: ";
    if (!w.setting_changes.empty()) msg += "model settings " + join(w.setting_changes) + "; ";
    msg += std::to_string(differing.size()) + " tensor(s) differ (checkpoint vs config): " + join(differing);
    throw std::invalid_argument(msg);
  }
  return w;
}

void apply_init_weights(ParticleNetwork& net, const InitWeights& weights) {
  std::vector<std::pair<Tensor, const Tensor*>> copies;  // all found before any is written
  for (auto& [name, target] : net.named_parameters()) {
    const Tensor* s = find(weights.parameters, name);
    if (!s || s->shape() != target.shape())
      throw std::logic_error("apply_init_weights: no weights of the right shape for '" + name +
                             "' (checked against another network?)");
    copies.emplace_back(target, s);
  }
  for (auto& [target, s] : copies) target.copy_from(*s);
}

}  // namespace lagrad
