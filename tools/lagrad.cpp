// The lagrad command-line tool. Each subcommand lives in its own tools/cmd_*.cpp and registers
// itself; main parses, runs the chosen command, and turns any exception into one line on
// stderr and exit code 1.
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <malloc.h>

#include <cerrno>
#include <cstring>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include "core/communicator.h"
#include "lagrad/version.h"
#include "registry.h"

namespace lagrad::tool {
std::vector<CommandSetup>& command_registry() {
  static std::vector<CommandSetup> r;
  return r;
}
std::vector<Benchmark>& bench_registry() {
  static std::vector<Benchmark> r;
  return r;
}

namespace {

// The subcommand the user named: the first word that is neither an option nor the value of a
// top-level option; "" when there is none.
std::string named_command(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--log-level" || arg == "--log-file") {
      ++i;
      continue;
    }
    if (!arg.empty() && arg[0] == '-') continue;
    return arg;
  }
  return "";
}

bool is_command(const CLI::App& app, const std::string& name) {
  return !app.get_subcommands([&](const CLI::App* sub) { return sub->get_name() == name; }).empty();
}

std::string command_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  std::sort(names.begin(), names.end());
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return list;
}

}  // namespace
}  // namespace lagrad::tool

int main(int argc, char** argv) {
  // Training allocates and frees the same large gradient and scratch buffers every step. With
  // glibc's defaults each one above 32 MiB is a fresh zero-filled mmap; keeping them in the heap
  // lets them be reused (measured: Dense backward overhead over bare GEMMs from ~30% to ~10%).
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  // Under mpirun: MPI for the whole run (core/communicator.h); otherwise nothing.
  std::optional<lagrad::DistributedSession> mpi;
  try {
    mpi.emplace(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lagrad: error: %s\n", e.what());
    return 1;
  }
  const lagrad::Communicator& world = lagrad::Communicator::world();
  CLI::App app{"lagrad: train, evaluate and run particle-based physics networks"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("lagrad ") + lagrad::version(), "Print the version and exit");
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "Log level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  std::string log_file;
  app.add_option("--log-file", log_file, "Also append the log to this file");
  std::vector<std::pair<CLI::App*, lagrad::tool::CommandRun>> commands;
  for (auto& setup : lagrad::tool::command_registry()) {
    CLI::App* sub = nullptr;
    auto run = setup(app, sub);
    commands.emplace_back(sub, std::move(run));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are ParseErrors with exit code 0: CLI11 prints them.
    if (e.get_exit_code() == 0) return app.exit(e);
    // CLI11 says "A subcommand is required" for a misspelt command too: name it and the valid ones.
    const std::string cmd = lagrad::tool::named_command(argc, argv);
    if (cmd.empty() || !lagrad::tool::is_command(app, cmd)) {
      const std::string valid = lagrad::tool::command_names(app);
      if (cmd.empty())
        std::fprintf(stderr, "lagrad: error: a command is required, one of: %s (see --help)\n", valid.c_str());
      else
        std::fprintf(stderr, "lagrad: error: unknown command '%s'; the commands are: %s (see --help)\n", cmd.c_str(),
                     valid.c_str());
      return 1;
    }
    std::fprintf(stderr, "lagrad: error: %s (see --help)\n", e.what());
    return 1;
  }
  try {
    // Logs go to stderr so that stdout carries only results (JSON of bench, evaluate, info).
    std::vector<spdlog::sink_ptr> sinks{std::make_shared<spdlog::sinks::stderr_color_sink_mt>()};
    if (!log_file.empty()) {
      try {  // spdlog says "Failed opening file ... for writing"; ours names the option
        sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file));
      } catch (const std::exception&) {
        throw std::runtime_error("--log-file: cannot open '" + log_file + "' for writing (" + std::strerror(errno) + ")");
      }
    }
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("lagrad", sinks.begin(), sinks.end()));
    spdlog::set_level(spdlog::level::from_str(log_level));
    if (world.size() > 1) {  // rank 0 speaks for the run; the others report warnings and errors
      spdlog::set_pattern(fmt::format("[%Y-%m-%d %H:%M:%S.%e] [rank {}] [%^%l%$] %v", world.rank()));
      if (!world.is_root()) spdlog::set_level(std::max(spdlog::level::warn, spdlog::get_level()));
    }
    for (auto& [sub, run] : commands)
      if (sub && sub->parsed()) return run();
  } catch (const std::exception& e) {
    if (world.size() > 1) {
      // The other ranks wait in a collective that this one will never join: end them all.
      std::fprintf(stderr, "lagrad: error: [rank %d of %d] %s\n", world.rank(), world.size(), e.what());
      std::fflush(stderr);
      world.abort(1);
    }
    std::fprintf(stderr, "lagrad: error: %s\n", e.what());
    return 1;
  }
  return 1;
}
