#pragma once
// `lagrad train --init-from`: a new training run's starting weights from a checkpoint (one
// written by `lagrad import`, or another run's); the optimizer, schedule and data stream still
// start at step 0.
//
// The config describes the model; the checkpoint supplies its trainable parameters, which must
// match the config's network name for name and shape. Buffers (gravity, the convolutions'
// offsets) are constants of the config, so they keep the config's values. Settings that change
// no shape (timestep, particle_radius, gravity, ...) may differ, since adapting a network to new
// settings is a reason to fine-tune; they are returned so that the caller can report them.
#include <cstdint>
#include <string>
#include <vector>

#include "../optim/optimizer.h"  // NamedTensors

namespace lagrad {

class ParticleNetwork;

struct InitWeights {
  std::string checkpoint;                    // the file read (for a training directory, its newest checkpoint)
  std::int64_t step = 0;                     // the step its run had reached
  NamedTensors parameters;                   // the trainable parameters, by name
  std::vector<std::string> setting_changes;  // "timestep 0.02 (checkpoint) vs 0.01 (config)"
};

// Reads `checkpoint_or_dir` (a checkpoint file, or a training directory: its newest checkpoint)
// and checks it against `net`, the network built from the run's config. Throws
// std::runtime_error for a path that cannot be read, and std::invalid_argument listing every
// differing tensor (name, both shapes) and model setting when the models differ. Messages start
// with "--init-from: ".
InitWeights read_init_weights(const std::string& checkpoint_or_dir, const ParticleNetwork& net);

// Copies the parameters into `net` (the network read_init_weights checked them against).
void apply_init_weights(ParticleNetwork& net, const InitWeights& weights);

}  // namespace lagrad
