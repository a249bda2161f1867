#include <doctest/doctest.h>

#include "fluids/config_diff.h"

using namespace lagrad;

TEST_CASE("config_diff: a resume conflicts on the model, data stream, optimizer and schedule only") {
  const TrainConfig a = parse_train_config("dataset_dir: data\n");
  CHECK(resume_conflicts(a, a).empty());
  const TrainConfig b = parse_train_config(
      "dataset_dir: elsewhere\nmodel:\n  layer_channels: [8, 3]\n  particle_radius: 0.03\n"
      "training:\n  batch_size: 4\n  max_iter: 99\n  threads: 3\n  log_interval: 7\n");
  const auto changes = resume_conflicts(a, b);
  REQUIRE(changes.size() == 3);
  CHECK(changes[0].key == "model.layer_channels");
  CHECK(changes[0].before == "[32, 64, 64, 3]");
  CHECK(changes[0].after == "[8, 3]");
  CHECK(changes[1].key == "model.particle_radius");
  CHECK(changes[1].before == "0.025");
  CHECK(changes[2].key == "training.batch_size");
  CHECK(describe_changes({changes[2]}) == "training.batch_size: 16 in the checkpoint, 4 now");
  // Every key of the config is listed; the fixed ones are among them.
  const auto values = config_values(a);
  for (const auto& key : resume_fixed_keys()) CHECK_MESSAGE(values.count(key) == 1, key);
}
