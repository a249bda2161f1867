// Data-parallel training over MPI (`mpirun -np K lagrad train`): the checkpoints after N steps
// are bitwise the same files for K = 1, 2, 4 processes and for plain single-process training;
// resuming works under MPI (with another K too); a rank killed mid-run stops the others, leaves
// no partial checkpoint, and the same command resumes. docs/distributed.md.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "../tools/cli_util.h"
#include "fluids/dataset_file.h"
#include "optim/checkpoint.h"

using namespace lagrad;
using namespace lagrad::test;
namespace fs = std::filesystem;

namespace {

// mpirun as the tests run it: as root in CI (Open MPI refuses without these), more ranks than
// the 2 cores (oversubscribe), in the foreground or in the background (`&`, pid to a file).
std::string mpirun(int np, const std::string& args) {
  return std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 '") + LAGRAD_MPIEXEC +
         "' --oversubscribe -np " + std::to_string(np) + " '" + LAGRAD_TOOL_PATH + "' " + args;
}

Run run_mpi(const TempDir& dir, int np, const std::string& args) {
  const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  const int status = std::system((mpirun(np, args) + " >'" + out + "' 2>'" + err + "'").c_str());
  Run r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

void write_config(const TempDir& dir, int max_iter, int checkpoint_interval) {
  std::ofstream(dir.file("c.yaml")) << "dataset_dir: data\n"
                                       "train_data:\n  shuffle_buffer: 4\n"
                                       "model:\n  layer_channels: [8, 16, 16, 3]\n"
                                       "training:\n  max_iter: " << max_iter << "\n  batch_size: 5\n"
                                       "  checkpoint_interval: " << checkpoint_interval << "\n"
                                       "  eval_interval: 2\n  log_interval: 1\n  seed: 5\n"
                                       "evaluation:\n  frame_skip: 3\n";
}

void generate(const TempDir& dir) {
  const Run gen = run_tool(dir, "generate --scenes 3 --valid-scenes 1 --frames 12 --min-particles 150 "
                                "--max-particles 250 --seed 3 --no-progress --output " + quoted(dir.file("data")));
  INFO(gen.err);
  REQUIRE(gen.exit_code == 0);
}

std::string ckpt(const TempDir& dir, const std::string& run, int step) {
  char name[64];
  std::snprintf(name, sizeof name, "ckpt-%08d.lagrad", step);
  return dir.file(run + "/checkpoints/" + name);
}

void check_same_file(const std::string& a, const std::string& b) {
  INFO(a << " vs " << b);
  REQUIRE(fs::exists(a));
  REQUIRE(fs::exists(b));
  CHECK(read_text(a) == read_text(b));
}

}  // namespace

TEST_CASE("mpirun: checkpoints are bitwise the same for 1, 2 and 4 processes and a plain run") {
  TempDir dir("mpi");
  generate(dir);
  write_config(dir, 4, 2);
  const Run plain = run_tool(dir, "train " + quoted(dir.file("c.yaml")) + " --no-progress --train-dir " + quoted(dir.file("plain")));
  INFO(plain.err);
  REQUIRE(plain.exit_code == 0);
  for (int np : {1, 2, 4}) {
    const std::string run = "np" + std::to_string(np);
    const Run r = run_mpi(dir, np, "train " + quoted(dir.file("c.yaml")) + " --no-progress --train-dir " + quoted(dir.file(run)));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    check_same_file(ckpt(dir, "plain", 2), ckpt(dir, run, 2));
    check_same_file(ckpt(dir, "plain", 4), ckpt(dir, run, 4));
    if (np > 1) {
      CHECK(contains(r.err, "[rank 0]"));
      CHECK(contains(read_text(dir.file(run + "/train.log")), "data-parallel over " + std::to_string(np) + " processes"));
    }
    // Rank 0 alone wrote the folder: one evaluation per eval step, one metrics line per step.
    const std::string metrics = read_text(dir.file(run + "/metrics.jsonl"));
    CHECK(std::count(metrics.begin(), metrics.end(), '\n') == 4 + 2);
  }
}

TEST_CASE("mpirun: a run resumes under MPI, also with another process count") {
  TempDir dir("mpi_resume");
  generate(dir);
  write_config(dir, 4, 2);
  const Run plain = run_tool(dir, "train " + quoted(dir.file("c.yaml")) + " --no-progress --train-dir " + quoted(dir.file("plain")));
  REQUIRE(plain.exit_code == 0);
  const Run first = run_mpi(dir, 2, "train " + quoted(dir.file("c.yaml")) + " --no-progress --max-iter 2 --train-dir " +
                                        quoted(dir.file("part")));
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  const Run rest = run_mpi(dir, 4, "train " + quoted(dir.file("c.yaml")) + " --no-progress --train-dir " + quoted(dir.file("part")));
  INFO(rest.err);
  REQUIRE(rest.exit_code == 0);
  CHECK(contains(rest.err, "resuming from"));
  check_same_file(ckpt(dir, "plain", 4), ckpt(dir, "part", 4));
}

TEST_CASE("mpirun: a killed rank stops the run, leaves whole checkpoints, and the command resumes") {
  TempDir dir("mpi_kill");
  generate(dir);
  write_config(dir, 100000, 1);
  const std::string args = "train " + quoted(dir.file("c.yaml")) + " --no-progress --train-dir " + quoted(dir.file("run"));
  // Background mpirun; its exit status lands in a file.
  const std::string status_file = dir.file("status.txt");
  REQUIRE(std::system(("(" + mpirun(2, args) + " >'" + dir.file("out.txt") + "' 2>'" + dir.file("err.txt") +
                       "'; echo $? >'" + status_file + "') &").c_str()) == 0);
  // Wait for a few steps' checkpoints, then kill -9 rank 1 (found by its MPI environment).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(ckpt(dir, "run", 3)) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(fs::exists(ckpt(dir, "run", 3)));
  pid_t victim = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string env = read_text((e.path() / "environ").string());
    const std::string cmd = read_text((e.path() / "cmdline").string());
    if (contains(cmd, dir.file("run")) && contains(env, std::string("OMPI_COMM_WORLD_RANK=1") + '\0'))
      victim = static_cast<pid_t>(std::stol(e.path().filename().string()));
  }
  REQUIRE(victim > 0);
  const auto killed_at = std::chrono::steady_clock::now();
  REQUIRE(::kill(victim, SIGKILL) == 0);
  while (!fs::exists(status_file) && std::chrono::steady_clock::now() < killed_at + std::chrono::seconds(30))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(fs::exists(status_file));  // the others stopped within the bound
  const double stop_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  MESSAGE("the run stopped " << stop_s << " s after rank 1 was killed");
  CHECK(std::stoi(read_text(status_file)) != 0);
  // Every checkpoint left is whole, and no temporary file is mistaken for one.
  int newest = 0;
  for (const auto& e : fs::directory_iterator(dir.file("run/checkpoints"))) {
    const std::string name = e.path().filename().string();
    if (name.rfind("ckpt-", 0) != 0 || e.path().extension() != ".lagrad") continue;
    const Checkpoint c = load_checkpoint(e.path().string());
    newest = std::max(newest, static_cast<int>(c.step));
  }
  REQUIRE(newest >= 3);
  // The same command (bounded by --max-iter) resumes and matches an uninterrupted run.
  const int until = newest + 2;
  const Run again = run_mpi(dir, 2, args + " --max-iter " + std::to_string(until));
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(contains(again.err, "resuming from"));
  const Run plain = run_tool(dir, "train " + quoted(dir.file("c.yaml")) + " --no-progress --max-iter " +
                                      std::to_string(until) + " --train-dir " + quoted(dir.file("plain")));
  REQUIRE(plain.exit_code == 0);
  check_same_file(ckpt(dir, "plain", until), ckpt(dir, "run", until));
}

TEST_CASE("mpirun: the user-loop API (broadcast_parameters, allreduce_gradients) keeps ranks in lockstep") {
  TempDir dir("mpi_example");
  for (int np : {2, 3}) {
    const std::string out = dir.file("out.txt"), err = dir.file("err.txt");
    const std::string cmd = std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 '") + LAGRAD_MPIEXEC +
                            "' --oversubscribe -np " + std::to_string(np) + " '" + LAGRAD_DISTRIBUTED_FIT_PATH + "' >'" +
                            out + "' 2>'" + err + "'";
    const int status = std::system(cmd.c_str());
    INFO(read_text(out) << read_text(err));
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(contains(read_text(out), std::to_string(np) + " rank(s)"));
    CHECK(contains(read_text(out), "in lockstep"));
  }
}
