// `lagrad import WEIGHTS(.pt|.h5) -o OUT.ckpt [--json]`: turns the published DeepLagrangianFluids
// weights into a lagrad checkpoint for the default model (step 0, the default model config).
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/shape.h"
#include "fluids/pretrained_weights.h"
#include "fluids/train_config.h"
#include "optim/checkpoint.h"
#include "registry.h"

namespace lagrad::tool {
namespace {

struct ImportArgs {
  std::string weights;
  std::string output;
  bool json = false;
};

struct Expected {
  std::string name;
  Shape shape;
};

// The state dict of DeepLagrangianFluids' network for a model config, in the .pt's order:
// parameters and the gravity / conv offset buffers. (Replace by the names and shapes of a
// ParticleNetwork once that class is in the library.)
std::vector<Expected> dlf_state_spec(const ModelConfig& m) {
  const auto& k = m.kernel_size;
  const auto& ch = m.layer_channels;
  const Index fluid_in = 4 + m.other_feats_channels;
  std::vector<Expected> s{{"gravity", {3}}};
  auto conv = [&](const std::string& name, Index in, Index out) {
    s.push_back({name + ".kernel", {k[0], k[1], k[2], in, out}});
    s.push_back({name + ".bias", {out}});
    s.push_back({name + ".offset", {3}});
  };
  auto dense = [&](const std::string& name, Index in, Index out) {
    s.push_back({name + ".weight", {out, in}});
    s.push_back({name + ".bias", {out}});
  };
  conv("conv0_fluid", fluid_in, ch[0]);
  conv("conv0_obstacle", 3, ch[0]);
  dense("dense0_fluid", fluid_in, ch[0]);
  for (size_t i = 1; i < ch.size(); ++i) {
    const Index in = ch[i - 1] * (i == 1 ? 3 : 1);
    dense("dense" + std::to_string(i), in, ch[i]);
    conv("conv" + std::to_string(i), in, ch[i]);
  }
  return s;
}

// Puts the tensors in the spec's order after checking that names and shapes match it exactly
// and that every value is finite; one exception lists every problem.
NamedTensors validate(const std::string& path, const NamedTensors& found, const std::vector<Expected>& spec) {
  std::string problems;
  auto add = [&](const std::string& p) { problems += (problems.empty() ? "" : "; ") + p; };
  NamedTensors ordered;
  for (const auto& e : spec) {
    const Tensor* t = nullptr;
    for (const auto& [name, tensor] : found)
      if (name == e.name) t = &tensor;
    if (!t) {
      add("missing '" + e.name + "' " + shape_str(e.shape));
      continue;
    }
    if (t->shape() != e.shape) {
      add("'" + e.name + "' expected " + shape_str(e.shape) + ", got " + shape_str(t->shape()));
      continue;
    }
    const float* v = t->data();
    for (Index i = 0; i < t->numel(); ++i)
      if (!std::isfinite(v[i])) {
        add("'" + e.name + "' has a non-finite value at flat index " + std::to_string(i));
        break;
      }
    ordered.emplace_back(e.name, *t);
  }
  for (const auto& [name, tensor] : found) {
    bool known = false;
    for (const auto& e : spec) known |= e.name == name;
    if (!known) add("unexpected '" + name + "' " + shape_str(tensor.shape()));
  }
  if (!problems.empty())
    throw std::runtime_error("import: '" + path + "' does not hold the default DeepLagrangianFluids network: " +
                             problems);
  return ordered;
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
    ckpt.model = validate(args->weights, weights, dlf_state_spec(model));
    ckpt.config = model_config_yaml(model);
    ckpt.metadata = {{"source", args->weights}, {"format", format}, {"kind", "dlf_particle_network"}};
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
