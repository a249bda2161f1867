// `lagrad train CONFIG.yaml [--init-from CKPT]`: trains (or resumes) a DeepLagrangianFluids network.
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <csignal>
#include <filesystem>
#include <vector>

#include "core/communicator.h"
#include "fluids/train_config.h"
#include "fluids/trainer.h"
#include "registry.h"

namespace lagrad::tool {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

struct TrainArgs {
  std::string config;
  std::string train_dir;
  std::int64_t max_iter = 0;
  std::string init_from;
  bool no_progress = false;
};

CommandRegistrar reg([](CLI::App& app, CLI::App*& sub) -> CommandRun {
  auto a = std::make_shared<TrainArgs>();
  sub = app.add_subcommand("train", "Train (or resume) a fluid network from a YAML config");
  sub->add_option("config", a->config, "Training config (YAML)")->required();
  sub->add_option("--train-dir", a->train_dir, "Training directory (default: runs/<config name>)");
  sub->add_option("--max-iter", a->max_iter, "Stop after this many iterations (overrides training.max_iter)");
  sub->add_option("--init-from", a->init_from,
                  "Start a new run from this checkpoint's weights (or a training directory's newest), "
                  "with a fresh optimizer; ignored when the training directory already has checkpoints (it resumes)");
  sub->add_flag("--no-progress", a->no_progress, "Plain log lines instead of a progress bar");
  return [a]() {
    // The config, the dataset and the first batch are read before anything is written.
    const TrainConfig config = load_train_config(a->config);
    std::string dir = a->train_dir;
    if (dir.empty()) dir = (std::filesystem::path("runs") / std::filesystem::path(a->config).stem()).string();
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    TrainerOptions opts;
    opts.progress_bar = !a->no_progress && ::isatty(STDERR_FILENO) && Communicator::world().is_root();
    opts.max_iter = a->max_iter;
    opts.init_from = a->init_from;
    std::shared_ptr<spdlog::logger> file_log;
    opts.on_start = [&] {
      // From here on every log line also goes to <dir>/train.log.
      const std::string log_path = (std::filesystem::path(dir) / "train.log").string();
      std::shared_ptr<spdlog::sinks::basic_file_sink_mt> file;
      try {  // spdlog's own wording ("Failed opening file ... for writing") is not ours
        file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_path);
      } catch (const std::exception&) {
        throw std::runtime_error("train: cannot open the log file '" + log_path + "' for writing (" +
                                 std::strerror(errno) + ")");
      }
      std::vector<spdlog::sink_ptr> sinks = spdlog::default_logger()->sinks();  // stderr and --log-file
      sinks.push_back(file);
      auto logger = std::make_shared<spdlog::logger>("lagrad-train", sinks.begin(), sinks.end());
      logger->set_level(spdlog::default_logger()->level());
      spdlog::set_default_logger(logger);
      // Every sink but the console (the first, set up by main) gets the step lines.
      file_log = std::make_shared<spdlog::logger>("lagrad-train", sinks.begin() + 1, sinks.end());
      file_log->set_level(logger->level());
      spdlog::info("training {} in {} (dataset {})", a->config, dir, config.dataset_dir);
    };
    // The progress bar replaces the step lines on the terminal; the log file still gets them.
    opts.step_line = [&](const std::string& line) {
      if (file_log) file_log->info("{}", line);
    };
    const TrainSummary s = train(config, dir, opts, &g_stop);
    if (!s.finished && s.end_step == s.start_step) {  // the one line of a stop before any step
      spdlog::info("interrupted before step {}; the newest checkpoint is unchanged ({})", s.end_step,
                   s.last_checkpoint.empty() ? "none" : s.last_checkpoint);
      return 0;
    }
    spdlog::info("{} at step {} ({:.1f} s, last loss {:.6f}); checkpoint {}",
                 s.finished ? "finished" : "interrupted", s.end_step, s.seconds, s.last_loss, s.last_checkpoint);
    return 0;
  };
});

}  // namespace
}  // namespace lagrad::tool
