// `lagrad info CHECKPOINT [--json]`: what a checkpoint holds, without a model to load it into.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "core/shape.h"
#include "lagrad/version.h"
#include "optim/checkpoint.h"
#include "model_loading.h"
#include "registry.h"

namespace lagrad::tool {
namespace {

struct InfoArgs {
  std::string path;
  bool json = false;
};

struct TensorStats {
  Index count = 0;
  double min = 0, max = 0, mean_abs = 0;  // over the finite values; 0 when there are none
  Index non_finite = 0;
};

TensorStats stats_of(const Tensor& t) {
  TensorStats s;
  s.count = t.numel();
  const float* v = t.data();
  bool first = true;
  double sum_abs = 0;
  for (Index i = 0; i < s.count; ++i) {
    const double x = v[i];
    if (!std::isfinite(x)) {
      ++s.non_finite;
      continue;
    }
    s.min = first ? x : std::min(s.min, x);
    s.max = first ? x : std::max(s.max, x);
    first = false;
    sum_abs += std::abs(x);
  }
  if (s.count > s.non_finite) s.mean_abs = sum_abs / static_cast<double>(s.count - s.non_finite);
  return s;
}

Index total_values(const NamedTensors& ts) {
  Index n = 0;
  for (const auto& [name, t] : ts) n += t.numel();
  return n;
}

// Checkpoints come in two encodings (optim/checkpoint.h); a JSON one starts with '{'.
std::string encoding_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char c = 0;
  while (in.get(c) && std::isspace(static_cast<unsigned char>(c))) {
  }
  return c == '{' ? "json" : "portable binary";
}

Json shape_json(const Shape& shape) {
  Json a = Json::array();
  for (Index d : shape) a.push(static_cast<std::int64_t>(d));
  return a;
}

Json to_json(const std::string& path, const Checkpoint& c) {
  Json doc = Json::object();
  doc.set("path", path);
  doc.set("encoding", encoding_of(path));
  doc.set("format_version", static_cast<std::int64_t>(Checkpoint::kFormatVersion));
  doc.set("lagrad_version", version());
  doc.set("step", static_cast<std::int64_t>(c.step));
  doc.set("optimizer_step", static_cast<std::int64_t>(c.optimizer_step));
  doc.set("schedule", c.schedule);
  doc.set("rng_state_bytes", static_cast<std::int64_t>(c.rng_state.size()));
  Json meta = Json::object();
  for (const auto& [k, v] : c.metadata) meta.set(k, v);
  doc.set("metadata", std::move(meta));
  doc.set("config", c.config);
  Json model = Json::object();
  model.set("tensors", static_cast<std::int64_t>(c.model.size()));
  model.set("values", static_cast<std::int64_t>(total_values(c.model)));
  Json entries = Json::array();
  for (const auto& [name, t] : c.model) {
    const TensorStats s = stats_of(t);
    Json e = Json::object();
    e.set("name", name);
    e.set("shape", shape_json(t.shape()));
    e.set("count", static_cast<std::int64_t>(s.count));
    e.set("min", s.min);
    e.set("max", s.max);
    e.set("mean_abs", s.mean_abs);
    if (s.non_finite) e.set("non_finite", static_cast<std::int64_t>(s.non_finite));
    entries.push(std::move(e));
  }
  model.set("entries", std::move(entries));
  doc.set("model", std::move(model));
  Json opt = Json::object();
  opt.set("tensors", static_cast<std::int64_t>(c.optimizer.size()));
  opt.set("values", static_cast<std::int64_t>(total_values(c.optimizer)));
  doc.set("optimizer", std::move(opt));
  return doc;
}

void print_text(const std::string& path, const Checkpoint& c) {
  std::printf("checkpoint      %s\n", path.c_str());
  std::printf("encoding        %s, format version %u\n", encoding_of(path).c_str(), Checkpoint::kFormatVersion);
  const auto writer = c.metadata.find("lagrad_version");
  std::printf("lagrad          %s (written by %s)\n", version(),
              writer == c.metadata.end() ? "an unknown version" : writer->second.c_str());
  std::printf("step            %lld\n", static_cast<long long>(c.step));
  std::printf("optimizer step  %lld\n", static_cast<long long>(c.optimizer_step));
  std::printf("schedule        %s\n", c.schedule.empty() ? "(none)" : c.schedule.c_str());
  std::printf("rng state       %s\n", c.rng_state.empty() ? "(none)" : (std::to_string(c.rng_state.size()) + " bytes").c_str());
  std::printf("metadata%s\n", c.metadata.empty() ? "        (none)" : "");
  for (const auto& [k, v] : c.metadata) {
    // Multi-line values (the model's YAML) continue under their first line.
    std::istringstream lines(v);
    std::string line;
    bool first = true;
    while (std::getline(lines, line)) {
      std::printf("  %-13s %s\n", first ? k.c_str() : "", line.c_str());  // long keys keep a space
      first = false;
    }
    if (first) std::printf("  %s\n", k.c_str());  // an empty value
  }
  std::printf("config%s\n", c.config.empty() ? "          (none)" : "");
  std::istringstream config(c.config);
  for (std::string line; std::getline(config, line);) std::printf("  %s\n", line.c_str());

  std::printf("model           %zu tensors, %lld values\n", c.model.size(), static_cast<long long>(total_values(c.model)));
  size_t width = 4;
  for (const auto& [name, t] : c.model) width = std::max(width, name.size());
  if (!c.model.empty())
    std::printf("  %-*s  %-18s %9s %13s %13s %13s\n", static_cast<int>(width), "name", "shape", "count", "min", "max",
                "mean|x|");
  for (const auto& [name, t] : c.model) {
    const TensorStats s = stats_of(t);
    std::printf("  %-*s  %-18s %9lld", static_cast<int>(width), name.c_str(), shape_str(t.shape()).c_str(),
                static_cast<long long>(s.count));
    if (s.count == s.non_finite)
      std::printf(" %13s %13s %13s", "-", "-", "-");
    else
      std::printf(" %13.6g %13.6g %13.6g", s.min, s.max, s.mean_abs);
    if (s.non_finite) std::printf("  (%lld non-finite)", static_cast<long long>(s.non_finite));
    std::printf("\n");
  }
  std::printf("optimizer       %zu tensors, %lld values\n", c.optimizer.size(),
              static_cast<long long>(total_values(c.optimizer)));
}

CommandRegistrar reg([](CLI::App& app, CLI::App*& sub) -> CommandRun {
  auto args = std::make_shared<InfoArgs>();
  sub = app.add_subcommand("info", "Show what a checkpoint (or a training directory's newest) holds: step, config, metadata, tensors");
  sub->add_option("checkpoint", args->path, "A lagrad checkpoint, or a training directory (its newest checkpoint)")
      ->required();
  sub->add_flag("--json", args->json, "Print as JSON");
  return [args]() {
    const std::string path = resolve_checkpoint(args->path);
    const Checkpoint c = load_checkpoint(path);
    if (args->json)
      std::cout << to_json(path, c).dump(2) << std::endl;
    else
      print_text(path, c);
    return 0;
  };
});

}  // namespace
}  // namespace lagrad::tool
