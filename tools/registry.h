#pragma once
// Self-registration of the tool's subcommands and benchmarks: each tools/cmd_*.cpp and
// tools/bench_*.cpp adds itself with a static Registrar, so adding a command touches one file.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "json.h"

namespace lagrad::tool {

// A subcommand: `setup` adds it to the app (options bound to variables it owns) and returns the
// function that runs it after parsing; that function returns the exit code and may throw.
using CommandRun = std::function<int()>;
using CommandSetup = std::function<CommandRun(CLI::App& app, CLI::App*& sub)>;
std::vector<CommandSetup>& command_registry();
struct CommandRegistrar {
  explicit CommandRegistrar(CommandSetup setup) { command_registry().push_back(std::move(setup)); }
};

// A benchmark run by `lagrad bench`: fills `out` with its figures.
struct BenchOptions {
  std::vector<long> sizes;      // problem sizes (points); empty: the benchmark's defaults
  std::vector<int> threads{1, 2};
  int repeats = 5;              // timings report the median of this many runs
};
struct Benchmark {
  std::string name;
  std::string description;
  std::function<void(const BenchOptions&, Json& out)> run;
};
std::vector<Benchmark>& bench_registry();
struct BenchRegistrar {
  explicit BenchRegistrar(Benchmark b) { bench_registry().push_back(std::move(b)); }
};

}  // namespace lagrad::tool
