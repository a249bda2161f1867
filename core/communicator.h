#pragma once
// Communicator: the processes of a data-parallel run (MPI ranks), with the few collectives
// lagrad's training needs. Every reduction adds its terms in rank order on every rank, so the
// result has the same bits whatever MPI's own reduction algorithm, process count or placement:
// that is what makes a run over K processes bitwise equal to one process (docs/distributed.md).
//
// Built without MPI, or started without mpirun, world() is this process alone (size 1) and
// every collective is a local no-op: the same code runs everywhere.
#include <cstdint>
#include <string>
#include <vector>

namespace lagrad {

class Communicator {
 public:
  // The processes lagrad was started with: all ranks under mpirun once a DistributedSession
  // started MPI; otherwise this process alone.
  static const Communicator& world();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  // Ranks of this communicator running on this machine (to share its cores among them).
  int local_size() const { return local_size_; }

  void barrier() const;
  void broadcast(float* data, std::size_t n, int root = 0) const;
  void broadcast(std::int64_t& value, int root = 0) const;
  void broadcast(std::string& value, int root = 0) const;
  // Every rank's block (sizes may differ), concatenated in rank order, on every rank.
  std::vector<float> allgather(const std::vector<float>& block) const;
  // data = data_0 + data_1 + ... (added in rank order) on every rank.
  void allreduce_sum(float* data, std::size_t n) const;
  // True on every rank when `flag` is true on any.
  bool any(bool flag) const;
  // Ends every process of the run with `code` (MPI_Abort): for an error on one rank, which the
  // others, waiting in a collective, could not see. Without MPI: std::exit(code).
  [[noreturn]] void abort(int code) const;

 private:
  friend class DistributedSession;
  int rank_ = 0, size_ = 1, local_size_ = 1;
};

// Starts MPI for the process's lifetime when the process was launched by mpirun (Open MPI's
// environment) and lagrad was built with MPI; otherwise changes nothing. One per process,
// first thing in main().
class DistributedSession {
 public:
  DistributedSession(int& argc, char**& argv);
  ~DistributedSession();
  DistributedSession(const DistributedSession&) = delete;
  DistributedSession& operator=(const DistributedSession&) = delete;

 private:
  bool started_ = false;
};

// True when lagrad was built with MPI (LAGRAD_WITH_MPI).
bool distributed_available();
// True when this process was started by mpirun (whether or not lagrad can use it).
bool launched_by_mpirun();

}  // namespace lagrad
