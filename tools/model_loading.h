#pragma once
// Loads a ParticleNetwork from a checkpoint file or a training directory (its newest checkpoint).
#include <memory>
#include <string>

#include "fluids/particle_network.h"
#include "fluids/train_config.h"

namespace lagrad::tool {

struct LoadedModel {
  std::shared_ptr<ParticleNetwork> net;
  std::string checkpoint;  // the file read
  long long step = 0;
  EvaluationConfig evaluation;  // the training config's evaluation section (defaults if none)
};

LoadedModel load_particle_network(const std::string& checkpoint_or_dir);

// The checkpoint file itself, or a training directory's newest checkpoint (throws when it has none).
std::string resolve_checkpoint(const std::string& checkpoint_or_dir);

}  // namespace lagrad::tool
