// `lagrad generate`: training data from the bundled DFSPH simulator (docs/simulator.md).
//
//   lagrad generate --scenes 20 --frames 200 --seed 1 --output data/   random scenes -> data/{train,valid}
//   lagrad generate --scene scene.json --frames 200 --output out/        one DLF scene JSON -> out/
//   lagrad generate --dam-break --output dam_break.tsv                   the validation case
//   lagrad generate --lagrangebench taylor-green-3d --output tgv/       a LagrangeBench-format
//                                                                      dataset (analytic TGV advection)
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "core/atomic_file.h"
#include "core/parallel.h"
#include "fluids/dataset_file.h"
#include "fluids/generators/taylor_green.h"
#include "fluids/sph/dam_break.h"
#include "fluids/sph/data_generator.h"
#include "fluids/sph/scene_json.h"
#include "registry.h"

namespace lagrad::tool {
namespace {

struct GenerateArgs {
  sph::GenerateOptions gen;
  int threads = 0;
  std::string scene_json;
  bool dam_break = false;
  int dam_width = 20;
  int dam_height = 0;
  float dam_length = 6.0f;
  double dam_time = 3.6;
  bool no_progress = false;
  std::string lagrangebench;  // "taylor-green-2d" or "taylor-green-3d"
  TaylorGreenOptions tgv;
  bool frames_given = false, seed_given = false;
};

std::string format_duration(double s) {
  char buf[32];
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof(buf), "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60) std::snprintf(buf, sizeof(buf), "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof(buf), "%lds", t);
  return buf;
}

// A progress bar with ETA on a terminal, a plain line every 10% otherwise.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled), tty_(isatty(fileno(stderr)) != 0) {}
  void operator()(long done, long total) {
    if (!enabled_ || total <= 0) return;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double frac = static_cast<double>(done) / total;
    const std::string eta = done > 0 ? format_duration(elapsed * (1.0 - frac) / frac) : "?";
    if (tty_) {
      if (done < total && elapsed - last_print_ < 0.2) return;
      last_print_ = elapsed;
      const int width = 30, filled = static_cast<int>(frac * width);
      std::fprintf(stderr, "\r[%s%s] %3d%% %ld/%ld frames  elapsed %s  ETA %s   ",
                   std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                   static_cast<int>(100 * frac), done, total, format_duration(elapsed).c_str(), eta.c_str());
      if (done == total) std::fprintf(stderr, "\n");
    } else {
      const int decile = static_cast<int>(10 * frac);
      if (decile <= last_decile_) return;
      last_decile_ = decile;
      std::fprintf(stderr, "generate: %3d%% (%ld/%ld frames), elapsed %s, ETA %s\n", 10 * decile, done, total,
                   format_duration(elapsed).c_str(), eta.c_str());
    }
    std::fflush(stderr);
  }

 private:
  bool enabled_, tty_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double last_print_ = -1;
  int last_decile_ = 0;
};

int run_dam_break(const GenerateArgs& a) {
  sph::DamBreakOptions o;
  o.column_particles = a.dam_width;
  o.height_particles = a.dam_height;
  o.tank_length = a.dam_length;
  o.end_time = a.dam_time;
  o.solver.max_density_error = a.gen.solver.max_density_error;
  const auto samples = sph::run_dam_break(o);
  std::string text = "# lagrad dam break: column " + std::to_string(a.dam_width) + " x " +
                     std::to_string(a.dam_height > 0 ? a.dam_height : a.dam_width) +
                     " particles (spacing " + std::to_string(2 * o.solver.particle_radius) +
                     " m)\n# t[s]\tT=t*sqrt(2g/a)\tZ=z/a\n";
  for (const auto& s : samples) {
    char line[96];
    std::snprintf(line, sizeof(line), "%.5f\t%.5f\t%.5f\n", s.t, s.T, s.Z);
    text += line;
  }
  if (a.gen.output.empty() || a.gen.output == "-") {
    std::fputs(text.c_str(), stdout);
  } else {
    write_file_atomically(a.gen.output, {text}, "generate");
    spdlog::info("generate: dam break table written to {}", a.gen.output);
  }
  return 0;
}

int run_lagrangebench(GenerateArgs a) {
  if (a.gen.output.empty()) throw std::invalid_argument("generate: --output DIR is required");
  if (a.lagrangebench == "taylor-green-2d") a.tgv.dim = 2;
  else if (a.lagrangebench == "taylor-green-3d") a.tgv.dim = 3;
  else throw std::invalid_argument("generate: --lagrangebench expects taylor-green-2d or taylor-green-3d, got '" +
                                   a.lagrangebench + "'");
  if (a.frames_given) a.tgv.frames = a.gen.frames;
  if (a.seed_given) a.tgv.seed = static_cast<std::uint64_t>(a.gen.seed);
  const LagrangeBenchMetadata m = write_taylor_green_dataset(a.gen.output, a.tgv);
  spdlog::info("generate: {} ({}D analytic Taylor-Green advection, not SPH), {} particles x {} frames, "
               "{}/{}/{} train/valid/test trajectories -> {}",
               a.lagrangebench, m.dim, m.num_particles_max, a.tgv.frames, a.tgv.train, a.tgv.valid, a.tgv.test,
               a.gen.output);
  return 0;
}

int run_scene_json(const GenerateArgs& a) {
  if (a.gen.output.empty()) throw std::invalid_argument("generate: --output DIR is required");
  const sph::SceneSetup scene = sph::load_scene_json(a.scene_json, a.gen.solver.particle_radius);
  std::error_code ec;  // filesystem_error's wording is not ours
  std::filesystem::create_directories(a.gen.output, ec);
  if (ec) throw std::runtime_error("generate: cannot create '" + a.gen.output + "' (" + ec.message() + ")");
  const std::string name = std::filesystem::path(a.scene_json).stem().string();
  Progress progress(!a.no_progress);
  long steps = 0;
  const Sequence seq = sph::simulate_scene(
      scene, a.gen.frames, a.gen.solver, name, [&](int f) { progress(f + 1, a.gen.frames); }, 50.0, &steps);
  DatasetWriteOptions w;
  w.set_compression_level(a.gen.compression_level);
  const int splits = std::max(1, (a.gen.frames + a.gen.frames_per_file / 2) / a.gen.frames_per_file);
  const auto files = write_sequence_files((std::filesystem::path(a.gen.output) / name).string(), seq, splits, w);
  spdlog::info("generate: {} frames, {} fluid particles at the end, {} steps, {} files in {}", a.gen.frames,
               seq.frames.back().num_particles(), steps, files.size(), a.gen.output);
  return 0;
}

int run_random(const GenerateArgs& a) {
  if (a.gen.output.empty()) throw std::invalid_argument("generate: --output DIR is required");
  Progress progress(!a.no_progress);
  const auto t0 = std::chrono::steady_clock::now();
  const auto reports = sph::generate_dataset(a.gen, [&](long done, long total) { progress(done, total); });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  long particles = 0, steps = 0;
  int n_valid = 0;
  for (const auto& r : reports) {
    spdlog::debug("{} {}: {} particles, {} steps, {:.1f} s", r.split, r.name, r.particles, r.steps, r.seconds);
    particles += r.particles;
    steps += r.steps;
    n_valid += r.split == "valid";
  }
  spdlog::info("generate: {} scenes ({} train, {} valid) x {} frames, {:.0f} particles per scene on average, "
               "{} solver steps, {:.1f} s on {} thread{} -> {}",
               reports.size(), reports.size() - n_valid, n_valid, a.gen.frames,
               double(particles) / reports.size(), steps, seconds, num_threads(), num_threads() == 1 ? "" : "s",
               a.gen.output);
  return 0;
}

CommandRegistrar reg([](CLI::App& app, CLI::App*& sub) -> CommandRun {
  auto a = std::make_shared<GenerateArgs>();
  sub = app.add_subcommand("generate", "Simulate fluid scenes with DFSPH and write DLF training data");
  auto& g = a->gen;
  sub->add_option("-o,--output", g.output,
                  "Output directory (random scenes: DIR/train and DIR/valid); with --dam-break a table file");
  sub->add_option("--scenes", g.num_scenes, "Number of random scenes")->capture_default_str();
  sub->add_option("--frames", g.frames, "Frames per scene (50 per second)")->capture_default_str();
  sub->add_option("--seed", g.seed, "Random seed; the output is a function of it")->capture_default_str();
  auto* vf = sub->add_option("--valid-fraction", g.valid_fraction, "Share of scenes written to DIR/valid")
                 ->capture_default_str();
  sub->add_option("--valid-scenes", g.valid_scenes, "Number of validation scenes (overrides --valid-fraction)")
      ->excludes(vf);
  sub->add_option("--min-particles", g.scene.min_particles, "Fewest fluid particles per scene")->capture_default_str();
  sub->add_option("--max-particles", g.scene.max_particles, "Most fluid particles per scene")->capture_default_str();
  sub->add_option("--max-bodies", g.scene.max_bodies, "Fluid bodies per scene: 1 to this")->capture_default_str();
  sub->add_option("--max-obstacles", g.scene.max_obstacles, "Obstacles per scene: 0 to this")->capture_default_str();
  sub->add_option("--fluid-obj", g.scene.fluid_objs, "Closed OBJ mesh used as a fluid body shape (repeatable)");
  sub->add_option("--obstacle-obj", g.scene.obstacle_objs, "OBJ mesh used as an obstacle (repeatable)");
  sub->add_option("--frames-per-file", g.frames_per_file, "Frames per output file (DLF splits scenes)")
      ->capture_default_str();
  sub->add_option("--compression-level", g.compression_level, "zstd level of the files")->capture_default_str();
  sub->add_option("--max-density-error", g.solver.max_density_error,
                  "Density solver tolerance (mean relative compression)")->capture_default_str();
  sub->add_option("--threads", a->threads, "Worker threads (0: all cores)")->capture_default_str();
  sub->add_option("--scene", a->scene_json, "Simulate this DLF scene JSON instead of random scenes");
  sub->add_flag("--dam-break", a->dam_break, "Run the dam-break validation case and write its front table");
  sub->add_option("--dam-break-width", a->dam_width, "Dam-break column width in particles")->capture_default_str();
  sub->add_option("--dam-break-height", a->dam_height, "Dam-break column height in particles (0: square)")
      ->capture_default_str();
  sub->add_option("--dam-break-length", a->dam_length, "Dam-break tank length in column widths")
      ->capture_default_str();
  sub->add_option("--dam-break-time", a->dam_time, "Dam-break end time T = t sqrt(2g/a)")->capture_default_str();
  sub->add_flag("--no-progress", a->no_progress, "No progress output");
  sub->add_option("--lagrangebench", a->lagrangebench,
                  "Write a LagrangeBench-format dataset instead: taylor-green-2d or taylor-green-3d "
                  "(particles advected by the analytic field; docs/datasets_and_metrics.md)");
  sub->add_option("--tgv-side", a->tgv.particles_per_side, "Taylor-Green: particles per box side")
      ->capture_default_str();
  sub->add_option("--tgv-train", a->tgv.train, "Taylor-Green: train trajectories")->capture_default_str();
  sub->add_option("--tgv-valid", a->tgv.valid, "Taylor-Green: valid trajectories")->capture_default_str();
  sub->add_option("--tgv-test", a->tgv.test, "Taylor-Green: test trajectories")->capture_default_str();
  return [a, sub]() {
    if (a->threads < 0) throw std::invalid_argument("generate: --threads must be >= 0, got " + std::to_string(a->threads));
    set_num_threads(a->threads);
    if (a->dam_break) return run_dam_break(*a);
    if (!a->lagrangebench.empty()) {
      a->frames_given = sub->count("--frames") > 0;
      a->seed_given = sub->count("--seed") > 0;
      return run_lagrangebench(*a);
    }
    if (!a->scene_json.empty()) return run_scene_json(*a);
    return run_random(*a);
  };
});

}  // namespace
}  // namespace lagrad::tool
