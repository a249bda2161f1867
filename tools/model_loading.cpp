#include "model_loading.h"

#include <filesystem>
#include <stdexcept>

#include "fluids/train_config.h"
#include "fluids/trainer.h"
#include "optim/checkpoint.h"

namespace lagrad::tool {

LoadedModel load_particle_network(const std::string& checkpoint_or_dir) {
  LoadedModel m;
  m.checkpoint = checkpoint_or_dir;
  Checkpoint c;
  if (std::filesystem::is_directory(checkpoint_or_dir)) {
    m.checkpoint = load_newest_checkpoint(checkpoint_or_dir, c);  // robust against a trainer pruning
    if (m.checkpoint.empty())
      throw std::runtime_error("no checkpoint in training directory '" + checkpoint_or_dir + "'");
  } else {
    c = load_checkpoint(m.checkpoint);
  }
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
