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
#include <cstdio>
#include <exception>

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
}  // namespace lagrad::tool

int main(int argc, char** argv) {
  // Training allocates and frees the same large gradient and scratch buffers every step. With
  // glibc's defaults each one above 32 MiB is a fresh zero-filled mmap; keeping them in the heap
  // lets them be reused (measured: Dense backward overhead over bare GEMMs from ~30% to ~10%).
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  CLI::App app{"lagrad: train, evaluate and run particle-based physics networks"};
  app.require_subcommand(1);
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
    for (auto& [sub, run] : commands)
      if (sub && sub->parsed()) return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lagrad: error: %s\n", e.what());
    return 1;
  }
  return 1;
}
