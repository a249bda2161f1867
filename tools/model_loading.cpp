#include "model_loading.h"

#include <filesystem>
#include <stdexcept>

#include "fluids/train_config.h"
#include "fluids/trainer.h"
#include "optim/checkpoint.h"

namespace lagrad::tool {

namespace {
const std::string kDlfKind = "dlf_particle_network";  // metadata "kind" of train's and import's checkpoints
}  // namespace

std::string resolve_checkpoint(const std::string& checkpoint_or_dir) {
  if (!std::filesystem::is_directory(checkpoint_or_dir)) return checkpoint_or_dir;
  const std::string newest = latest_checkpoint(checkpoint_or_dir);
  if (newest.empty())
    throw std::runtime_error("no checkpoint in training directory '" + checkpoint_or_dir + "' (expected " +
                             checkpoint_or_dir + "/checkpoints/ckpt-<step>.lagrad)");
  return newest;
}

LoadedModel load_particle_network(const std::string& checkpoint_or_dir) {
  LoadedModel m;
  m.checkpoint = checkpoint_or_dir;
  Checkpoint c;
  if (std::filesystem::is_directory(checkpoint_or_dir)) {
    m.checkpoint = load_newest_checkpoint(checkpoint_or_dir, c);  // robust against a trainer pruning
    if (m.checkpoint.empty())
      throw std::runtime_error("no checkpoint in training directory '" + checkpoint_or_dir + "' (expected " +
                               checkpoint_or_dir + "/checkpoints/ckpt-<step>.lagrad)");
  } else {
    c = load_checkpoint(m.checkpoint);
  }
  const auto kind = c.metadata.find("kind");
  if (kind != c.metadata.end() && kind->second != kDlfKind)
    throw std::runtime_error("'" + m.checkpoint + "' is not a DeepLagrangianFluids model (its kind is '" + kind->second +
                             "', expected '" + kDlfKind + "')");
  // The model's shape comes from the checkpoint's own record of its config.
  auto it = c.metadata.find("model");
  const ModelConfig config = parse_model_config(it != c.metadata.end() ? it->second : c.config);
  m.net = std::make_shared<ParticleNetwork>(config);
  try {
    load_model_state(*m.net, c.model);
  } catch (const std::invalid_argument& e) {
    // A checkpoint sharing no tensor name with the network is another kind of model: say so
    // rather than list every missing tensor.
    const NamedTensors expected = model_state(*m.net);
    size_t shared = 0;
    for (const auto& [name, t] : c.model)
      for (const auto& [want, w] : expected) shared += name == want;
    if (shared == 0) {
      std::string names;
      for (size_t i = 0; i < c.model.size() && i < 3; ++i) names += (i ? ", " : "") + c.model[i].first;
      if (c.model.size() > 3) names += ", ...";
      throw std::runtime_error("'" + m.checkpoint + "' is not a DeepLagrangianFluids model: none of its " +
                               std::to_string(c.model.size()) + " tensors (" + names +
                               ") is a tensor of the network (conv0_fluid.kernel, ...)");
    }
    throw std::runtime_error("'" + m.checkpoint + "' does not fit the model its config describes: " + e.what());
  }
  m.net->eval();
  m.step = c.step;
  m.evaluation = parse_evaluation_config(c.config);
  return m;
}

}  // namespace lagrad::tool
