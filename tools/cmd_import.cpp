// `lagrad import WEIGHTS(.pt|.h5) -o OUT.ckpt [--json]`: turns the published DeepLagrangianFluids
// weights into a lagrad checkpoint for the default model (step 0, the default model config).
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/shape.h"
#include "fluids/particle_network.h"
#include "fluids/pretrained_weights.h"
#include "fluids/train_config.h"
#include "lagrad/version.h"
#include "optim/checkpoint.h"
#include "registry.h"

namespace lagrad::tool {
namespace {

struct ImportArgs {
  std::string weights;
  std::string output;
  bool json = false;
};

// Loads the weights into the default network (load_model_state checks every name and shape,
// buffers included) and returns its state; also refuses non-finite values.
NamedTensors validate(const std::string& path, const NamedTensors& weights, const ModelConfig& model) {
  for (const auto& [name, t] : weights) {
    const float* v = t.data();
    for (Index i = 0; i < t.numel(); ++i)
      if (!std::isfinite(v[i]))
        throw std::runtime_error("import: '" + path + "': tensor '" + name + "' has a non-finite value (" +
                                 std::to_string(v[i]) + ") at flat index " + std::to_string(i));
  }
  ParticleNetwork net(model);
  try {
    load_model_state(net, weights);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("import: '" + path + "' does not hold the default DeepLagrangianFluids network: " +
                             e.what());
  }
  return model_state(net);
}

// The weights' format from the file's leading bytes, as read_pretrained_weights decides it.
std::string weights_format(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("import: cannot open '" + path + "'");
  unsigned char head[8] = {};
  const size_t n = std::fread(head, 1, sizeof head, f);
  std::fclose(f);
  if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return "pt";
  if (n == 8 && head[0] == 0x89 && head[1] == 'H' && head[2] == 'D' && head[3] == 'F') return "h5";
  const auto dot = path.rfind('.');
  const std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  if (ext == "pt" || ext == "pth") return "pt";
  if (ext == "h5" || ext == "hdf5") return "h5";
  return "unknown";
}

CommandRegistrar reg([](CLI::App& app, CLI::App*& sub) -> CommandRun {
  auto args = std::make_shared<ImportArgs>();
  sub = app.add_subcommand("import", "Convert published DeepLagrangianFluids weights (.pt or .h5) to a lagrad checkpoint");
  sub->add_option("weights", args->weights, "pretrained_model_weights.pt or .h5")->required();
  sub->add_option("-o,--output", args->output, "The checkpoint to write")->required();
  sub->add_flag("--json", args->json, "Print the summary as JSON");
  return [args]() {
    const NamedTensors weights = read_pretrained_weights(args->weights);
    const std::string format = weights_format(args->weights);
    const ModelConfig model;  // the published weights are for the default model
    Checkpoint ckpt;
    ckpt.model = validate(args->weights, weights, model);
    ckpt.config = model_config_yaml(model);
    ckpt.metadata = {{"source", args->weights}, {"format", format}, {"kind", "dlf_particle_network"},
                     {"lagrad_version", version()}};
    save_checkpoint(args->output, ckpt);

    Index values = 0;
    for (const auto& [name, t] : ckpt.model) values += t.numel();
    if (args->json) {
      Json doc = Json::object();
      doc.set("source", args->weights);
      doc.set("format", format);
      doc.set("output", args->output);
      doc.set("tensors", static_cast<std::int64_t>(ckpt.model.size()));
      doc.set("values", static_cast<std::int64_t>(values));
      std::cout << doc.dump(2) << std::endl;
    } else {
      std::printf("imported %s (%s): %zu tensors, %lld values -> %s\n", args->weights.c_str(), format.c_str(),
                  ckpt.model.size(), static_cast<long long>(values), args->output.c_str());
    }
    return 0;
  };
});

}  // namespace
}  // namespace lagrad::tool
