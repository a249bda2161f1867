#pragma once
// What changed between two training configs, key by key: a resumed run must continue the run
// its checkpoint was written by (same model, same data stream, same optimizer and schedule).
#include <map>
#include <string>
#include <vector>

#include "train_config.h"

namespace lagrad {

// Every key of a config (dataset_dir aside) with its value as text: "model.layer_channels" ->
// "[32, 64, 64, 3]", "training.base_lr" -> "0.001".
std::map<std::string, std::string> config_values(const TrainConfig& config);

struct ConfigChange {
  std::string key, before, after;
};

// The keys of `resume_fixed_keys()` whose values differ, in key order.
std::vector<ConfigChange> resume_conflicts(const TrainConfig& checkpointed, const TrainConfig& now);
// The keys a resumed run may not change: the model, the data stream (seed, batch size, shuffling,
// rotation), the optimizer and the schedule. Others (max_iter, intervals, threads, evaluation,
// prefetch, dataset_dir) may change.
const std::vector<std::string>& resume_fixed_keys();

// "model.layer_channels: [8, 16, 16, 3] in the checkpoint, [8, 16, 3] now; ..."
std::string describe_changes(const std::vector<ConfigChange>& changes);

}  // namespace lagrad
