// `lagrad bench [NAME...]`: runs the registered benchmarks and prints one JSON document.
#include <cstdio>
#include <iostream>

#include "core/communicator.h"
#include "registry.h"

namespace lagrad::tool {
namespace {

struct BenchArgs {
  std::vector<std::string> names;
  BenchOptions options;
  std::string output;
  bool list = false;
};

CommandRegistrar reg([](CLI::App& app, CLI::App*& sub) -> CommandRun {
  auto args = std::make_shared<BenchArgs>();
  sub = app.add_subcommand("bench", "Run benchmarks and print their figures as JSON");
  sub->add_option("names", args->names, "Benchmarks to run (default: all; see --list)");
  sub->add_option("--sizes", args->options.sizes, "Problem sizes (points), overriding the defaults");
  sub->add_option("--threads", args->options.threads, "Thread counts to measure")->capture_default_str();
  sub->add_option("--repeats", args->options.repeats, "Timed repetitions (median reported)")->capture_default_str();
  sub->add_option("-o,--output", args->output, "Also write the JSON to this file");
  sub->add_flag("--list", args->list, "List the benchmarks and exit");
  return [args]() {
    auto& all = bench_registry();
    if (args->list) {
      for (auto& b : all) std::printf("%-16s %s\n", b.name.c_str(), b.description.c_str());
      return 0;
    }
    for (auto& n : args->names) {
      bool found = false;
      for (auto& b : all) found |= b.name == n;
      if (!found) throw std::invalid_argument("bench: unknown benchmark '" + n + "' (see lagrad bench --list)");
    }
    Json doc = Json::object();
    for (auto& b : all) {
      if (!args->names.empty() && std::find(args->names.begin(), args->names.end(), b.name) == args->names.end())
        continue;
      Json out = Json::object();
      b.run(args->options, out);
      doc.set(b.name, std::move(out));
    }
    if (!Communicator::world().is_root()) return 0;  // under mpirun rank 0 reports
    const std::string text = doc.dump(2);
    std::cout << text << std::endl;
    if (!args->output.empty()) {
      FILE* f = std::fopen(args->output.c_str(), "w");
      if (!f) throw std::runtime_error("bench: cannot write '" + args->output + "'");
      std::fputs(text.c_str(), f);
      std::fclose(f);
    }
    return 0;
  };
});

}  // namespace
}  // namespace lagrad::tool
