#include "model_loading.h"

#include <filesystem>
#include <stdexcept>

#include "fluids/train_config.h"
#include "fluids/trainer.h"
#include "optim/checkpoint.h"

namespace lagrad::tool {

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
  m.checkpoint = resolve_checkpoint(checkpoint_or_dir);
  const Checkpoint c = load_checkpoint(m.checkpoint);
  // The model's shape comes from the checkpoint's own record of its config.
  auto it = c.metadata.find("model");
  const ModelConfig config = parse_model_config(it != c.metadata.end() ? it->second : c.config);
  m.net = std::make_shared<ParticleNetwork>(config);
  load_model_state(*m.net, c.model);
  m.net->eval();
  m.step = c.step;
  m.evaluation = parse_evaluation_config(c.config);
  return m;
}

}  // namespace lagrad::tool
