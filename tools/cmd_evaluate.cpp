// `lagrad evaluate`: DeepLagrangianFluids' evaluation (err_n1, err_n2, whole_seq_err).
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>

#include "core/atomic_file.h"
#include "fluids/dataset_stream.h"
#include "fluids/evaluation.h"
#include "fluids/metrics/rollout_metrics.h"
#include "fluids/progress_meter.h"
#include "model_loading.h"
#include "registry.h"

namespace lagrad::tool {
namespace {

namespace fs = std::filesystem;

struct EvalArgs {
  std::string model;
  std::string dataset;
  std::string split = "valid";
  std::string output;
  EvaluationOptions options = [] {
    EvaluationOptions o;
    o.frame_skip = 5;  // the original evaluation script's default
    return o;
  }();
  float scale = 0.0f;  // 0: the checkpoint's evaluation.scale (1 without one)
  bool baseline = false;
  bool no_whole_sequence = false;
  bool no_progress = false;
  std::string metrics;          // benchmark metrics of the whole-sequence rollouts
  double density_radius = 0.1;  // for "density", in scaled units
};

// Fails before any work when the results could not be written.
void check_output_path(const std::string& output) {
  if (output.empty()) return;
  const fs::path p(output), parent = p.parent_path();
  if (fs::is_directory(p)) throw std::invalid_argument("evaluate: -o '" + output + "' is a directory");
  if (!parent.empty() && !fs::is_directory(parent))
    throw std::invalid_argument("evaluate: -o '" + output + "': folder '" + parent.string() + "' does not exist");
}

Json to_json(const EvaluationResult& r) {
  Json j = Json::object();
  j.set("err_n1", r.err_n1);
  j.set("err_n2", r.err_n2);
  j.set("whole_seq_err", r.whole_seq_err);
  j.set("windows", r.windows);
  j.set("rollout_frames", r.rollout_frames);
  j.set("scenes", r.scenes);
  j.set("nonfinite_skipped", r.nonfinite);
  j.set("count_changed_skipped", r.count_changed);
  j.set("seconds", r.seconds);
  return j;
}

CommandRegistrar reg([](CLI::App& app, CLI::App*& sub) -> CommandRun {
  auto a = std::make_shared<EvalArgs>();
  sub = app.add_subcommand("evaluate", "Evaluate a model (or the gravity-only baseline) on a dataset split");
  sub->add_option("model", a->model, "Checkpoint file or training directory (its newest checkpoint)");
  sub->add_option("--dataset", a->dataset, "Dataset directory (with train/ and valid/)")->required();
  sub->add_option("--split", a->split, "Split to evaluate")->capture_default_str();
  sub->add_option("--frame-skip", a->options.frame_skip,
                  "Start a window every k-th frame (at least 3)")->capture_default_str();
  sub->add_option("--scale", a->scale,
                  "Multiply positions by this before measuring (default: the checkpoint's evaluation.scale, else 1)");
  sub->add_option("--max-scenes", a->options.max_scenes, "Evaluate at most this many scenes (0: all)");
  sub->add_flag("--no-whole-sequence", a->no_whole_sequence, "Skip the whole-sequence rollout");
  sub->add_flag("--baseline", a->baseline, "Evaluate gravity integration only (no network)");
  sub->add_option("-o,--output", a->output, "Also write the results as JSON to this file");
  sub->add_flag("--no-progress", a->no_progress, "Plain progress lines (every 10 s) instead of a progress bar");
  sub->add_option("--metrics", a->metrics,
                  "Also compute these benchmark metrics of the whole-sequence rollouts, comma-separated: "
                  "mse,sinkhorn,e_kin,chamfer,density (docs/datasets_and_metrics.md)");
  sub->add_option("--density-radius", a->density_radius, "Kernel radius of the density metric (scaled units)")
      ->capture_default_str();
  return [a]() {
    if (a->options.frame_skip < 3)
      throw std::invalid_argument("evaluate: --frame-skip must be >= 3, got " + std::to_string(a->options.frame_skip));
    if (!(a->scale >= 0.0f) || !std::isfinite(a->scale) || a->options.max_scenes < 0)
      throw std::invalid_argument("evaluate: --scale must be > 0 and --max-scenes >= 0, got " + std::to_string(a->scale) +
                                  " and " + std::to_string(a->options.max_scenes));
    if (a->baseline != a->model.empty())
      throw std::invalid_argument("evaluate: give either a checkpoint or --baseline");
    check_output_path(a->output);
    a->options.whole_sequence = !a->no_whole_sequence;
    RolloutMetricsOptions metric_options;
    RolloutMetricsMean metric_mean;
    if (!a->metrics.empty()) {
      metric_options.metrics = parse_metric_names(a->metrics);
      if (a->no_whole_sequence) throw std::invalid_argument("evaluate: --metrics needs the whole-sequence rollout");
      metric_options.frame_dt = ModelConfig{}.timestep;
      metric_options.density_radius = a->density_radius;
      a->options.on_rollout = [&](const std::vector<std::vector<float>>& p, const std::vector<std::vector<float>>& g) {
        metric_mean.add(rollout_metrics(p, g, metric_options));
      };
    }
    const auto files = dataset_split_files(a->dataset, a->split);
    // A bar on a terminal, a line every 10 s otherwise (scenes can take minutes each).
    std::unique_ptr<ProgressMeter> progress;
    a->options.on_scene = [&](std::int64_t done, std::int64_t expected) {
      if (!progress) {
        ProgressOptions po;
        po.bar = !a->no_progress && ::isatty(STDERR_FILENO);
        progress = std::make_unique<ProgressMeter>("evaluate", "scenes", expected, po);
      }
      progress->update(done);
    };
    Json doc = Json::object();
    EvaluationResult r;
    if (a->baseline) {
      a->options.scale = a->scale > 0.0f ? a->scale : 1.0f;
      r = evaluate_gravity_baseline(ModelConfig{}, files, a->options);
      doc.set("model", "gravity_baseline");
    } else {
      LoadedModel m = load_particle_network(a->model);
      a->options.scale = a->scale > 0.0f ? a->scale : m.evaluation.scale;
      spdlog::info("evaluating {} (step {}) on {} files", m.checkpoint, m.step, files.size());
      r = evaluate(*m.net, files, a->options);
      doc.set("model", m.checkpoint);
      doc.set("step", static_cast<std::int64_t>(m.step));
    }
    if (progress) progress->finish();
    if (r.count_changed > 0)
      spdlog::warn("{} windows or rollouts were skipped: the particle count changes between their frames",
                   r.count_changed);
    doc.set("dataset", a->dataset + "/" + a->split);
    doc.set("frame_skip", a->options.frame_skip);
    doc.set("scale", static_cast<double>(a->options.scale));
    doc.set("results", to_json(r));
    if (!a->metrics.empty()) {
      Json m = Json::object();
      for (const auto& [name, value] : metric_mean.mean()) m.set(name, value);
      m.set("rollouts", static_cast<std::int64_t>(metric_mean.rollouts()));
      doc.set("benchmark_metrics", m);
    }
    const std::string text = doc.dump(2);
    std::cout << text << std::endl;
    if (!a->output.empty()) write_file_atomically(a->output, {text, "\n"}, "evaluate");
    return 0;
  };
});

}  // namespace
}  // namespace lagrad::tool
