#pragma once
// Training checkpoints: everything needed to resume a run bitwise, in one file.
//
// Contents: format version, training step, model parameters and buffers by dotted name
// (shape + data), optimizer state tensors and step, the LR schedule's description, the RNG
// state, the run's config text, free-form metadata, and a CRC-32 over all of it. Two
// encodings via cereal: portable binary (default, little-endian on disk) and JSON (human-
// readable). Files are written atomically: temporary file, flush + fsync, rename.
// See docs/checkpoint_format.md.
#include <cstdint>
#include <map>
#include <string>

#include "../layers/module.h"
#include "optimizer.h"

namespace lagrad {

struct Checkpoint {
  static constexpr std::uint32_t kFormatVersion = 1;
  Index step = 0;                 // training step (iterations done)
  NamedTensors model;             // parameters and buffers
  NamedTensors optimizer;         // Optimizer::state_tensors()
  Index optimizer_step = 0;       // Optimizer::step_count()
  std::string schedule;           // the LR schedule's description (its state is `step`)
  std::string rng_state;          // Rng::state()
  std::string config;             // the run's config (YAML text)
  std::map<std::string, std::string> metadata;
};

enum class CheckpointFormat { PortableBinary, Json };

// Throws std::runtime_error naming the path on I/O failure; never leaves a partial file at `path`.
void save_checkpoint(const std::string& path, const Checkpoint& ckpt,
                     CheckpointFormat format = CheckpointFormat::PortableBinary);
// Detects the encoding. Throws std::runtime_error naming the path for a missing, truncated or
// corrupted file, a file that is not a lagrad checkpoint, or an unsupported format version.
Checkpoint load_checkpoint(const std::string& path);

// Model state (parameters then buffers) as named copies.
NamedTensors model_state(const Module& model);
// Copies a saved state into the model. Validates everything first: on any missing, unexpected
// or shape-mismatched name it throws one std::invalid_argument listing all of them and leaves
// the model untouched.
void load_model_state(Module& model, const NamedTensors& state);

}  // namespace lagrad
