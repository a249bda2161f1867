// read_init_weights / apply_init_weights: which checkpoints may start a run, and what is taken.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <unistd.h>

#include "fluids/init_from.h"
#include "fluids/particle_network.h"
#include "optim/checkpoint.h"

using namespace lagrad;
namespace fs = std::filesystem;

namespace {

ModelConfig small_model() {
  ModelConfig m;
  m.layer_channels = {4, 8, 8, 3};
  return m;
}

std::string save_state(const NamedTensors& state, const std::string& model_yaml, const std::string& name) {
  const std::string path = (fs::temp_directory_path() / ("lagrad_init_from_" + std::to_string(::getpid()) + name)).string();
  Checkpoint c;
  c.model = state;
  c.metadata["model"] = model_yaml;
  save_checkpoint(path, c);
  return path;
}

NamedTensors without(NamedTensors state, const std::string& name) {
  for (auto it = state.begin(); it != state.end(); ++it)
    if (it->first == name) {
      state.erase(it);
      break;
    }
  return state;
}

}  // namespace

TEST_CASE("init_from: parameters are taken, buffers keep the config's values, settings changes are reported") {
  ModelConfig source_model = small_model();
  source_model.gravity = {0.0f, -1.0f, 0.0f};
  ParticleNetwork source(source_model);
  const std::string path = save_state(model_state(source), model_config_yaml(source_model), "_ok.lagrad");

  ParticleNetwork target(small_model());
  const InitWeights w = read_init_weights(path, target);
  fs::remove(path);
  CHECK(w.checkpoint == path);
  REQUIRE(w.setting_changes.size() == 1);
  CHECK(w.setting_changes[0] == "gravity [0, -1, 0] (checkpoint) vs [0, -9.81, 0] (config)");
  apply_init_weights(target, w);
  const NamedTensors a = source.named_parameters(), b = target.named_parameters();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].second.to_vector() == b[i].second.to_vector());
  CHECK(target.named_buffers()[0].first == "gravity");
  CHECK(target.named_buffers()[0].second.to_vector() == std::vector<float>{0.0f, -9.81f, 0.0f});
}

TEST_CASE("init_from: absent buffers are fine; a missing parameter or an unknown tensor is listed") {
  ParticleNetwork net(small_model());
  const std::string yaml = model_config_yaml(small_model());
  const std::string no_gravity = save_state(without(model_state(net), "gravity"), yaml, "_nograv.lagrad");
  CHECK(read_init_weights(no_gravity, net).parameters.size() == net.named_parameters().size());
  fs::remove(no_gravity);

  NamedTensors odd = without(model_state(net), "conv3.bias");
  odd.emplace_back("extra", Tensor::zeros({2}));
  const std::string path = save_state(odd, yaml, "_odd.lagrad");
  CHECK_THROWS_WITH_AS(read_init_weights(path, net),
                       ("--init-from: the model in '" + path + "' does not match the config's: 2 tensor(s) differ "
                        "(checkpoint vs config): conv3.bias absent vs [3], extra [2] vs absent").c_str(),
                       std::invalid_argument);
  fs::remove(path);
}
