#include "core/communicator.h"

#include <cstdlib>
#include <stdexcept>

#ifdef LAGRAD_WITH_MPI
#include <mpi.h>
#endif

namespace lagrad {

namespace {
Communicator& mutable_world() {
  static Communicator w;
  return w;
}

#ifdef LAGRAD_WITH_MPI
int checked_count(std::size_t n, const char* what) {
  if (n > static_cast<std::size_t>(INT32_MAX))
    throw std::length_error(std::string("Communicator: ") + what + " of " + std::to_string(n) +
                            " values exceeds MPI's int count");
  return static_cast<int>(n);
}
#endif
}  // namespace

const Communicator& Communicator::world() { return mutable_world(); }

bool launched_by_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr ||
         std::getenv("PMI_SIZE") != nullptr;
}

#ifdef LAGRAD_WITH_MPI

bool distributed_available() { return true; }

DistributedSession::DistributedSession(int& argc, char**& argv) {
  if (!launched_by_mpirun()) return;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return;
  int provided = 0;
  // Only the main thread calls MPI; TBB's workers never do.
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  started_ = true;
  Communicator& w = mutable_world();
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size_);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, w.rank_, MPI_INFO_NULL, &local);
  MPI_Comm_size(local, &w.local_size_);
  MPI_Comm_free(&local);
}

DistributedSession::~DistributedSession() {
  if (!started_) return;
  MPI_Finalize();
  mutable_world() = Communicator();
}

void Communicator::barrier() const {
  if (size_ > 1) MPI_Barrier(MPI_COMM_WORLD);
}

void Communicator::broadcast(float* data, std::size_t n, int root) const {
  if (size_ > 1) MPI_Bcast(data, checked_count(n, "broadcast"), MPI_FLOAT, root, MPI_COMM_WORLD);
}

void Communicator::broadcast(std::int64_t& value, int root) const {
  if (size_ > 1) MPI_Bcast(&value, 1, MPI_INT64_T, root, MPI_COMM_WORLD);
}

void Communicator::broadcast(std::string& value, int root) const {
  if (size_ <= 1) return;
  std::int64_t n = static_cast<std::int64_t>(value.size());
  broadcast(n, root);
  value.resize(static_cast<std::size_t>(n));
  MPI_Bcast(value.data(), checked_count(value.size(), "broadcast"), MPI_CHAR, root, MPI_COMM_WORLD);
}

std::vector<float> Communicator::allgather(const std::vector<float>& block) const {
  if (size_ <= 1) return block;
  const int mine = checked_count(block.size(), "allgather block");
  std::vector<int> counts(static_cast<std::size_t>(size_)), offsets(static_cast<std::size_t>(size_));
  MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  std::size_t total = 0;
  for (int r = 0; r < size_; ++r) {
    offsets[static_cast<std::size_t>(r)] = checked_count(total, "allgather");
    total += static_cast<std::size_t>(counts[static_cast<std::size_t>(r)]);
  }
  std::vector<float> all(total);
  MPI_Allgatherv(block.data(), mine, MPI_FLOAT, all.data(), counts.data(), offsets.data(), MPI_FLOAT,
                 MPI_COMM_WORLD);
  return all;
}

void Communicator::allreduce_sum(float* data, std::size_t n) const {
  if (size_ <= 1) return;
  // Gathered, then added in rank order: MPI_Allreduce may associate the sum differently
  // depending on the process count and message size, which would change the bits.
  const std::vector<float> all = allgather(std::vector<float>(data, data + n));
  for (std::size_t k = 0; k < n; ++k) data[k] = all[k];
  for (int r = 1; r < size_; ++r) {
    const float* part = all.data() + static_cast<std::size_t>(r) * n;
    for (std::size_t k = 0; k < n; ++k) data[k] += part[k];
  }
}

bool Communicator::any(bool flag) const {
  if (size_ <= 1) return flag;
  int mine = flag ? 1 : 0, result = 0;
  MPI_Allreduce(&mine, &result, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
  return result != 0;
}

void Communicator::abort(int code) const {
  if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

#else  // built without MPI: one process

bool distributed_available() { return false; }
DistributedSession::DistributedSession(int&, char**&) {
  // K copies of one training each writing the same folder would silently clobber each other.
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (size && std::atoi(size) > 1)
    throw std::runtime_error("started by mpirun with " + std::string(size) +
                             " processes, but this lagrad was built without MPI (install libopenmpi-dev and "
                             "rebuild; see docs/distributed.md)");
}
DistributedSession::~DistributedSession() = default;
void Communicator::barrier() const {}
void Communicator::broadcast(float*, std::size_t, int) const {}
void Communicator::broadcast(std::int64_t&, int) const {}
void Communicator::broadcast(std::string&, int) const {}
std::vector<float> Communicator::allgather(const std::vector<float>& block) const { return block; }
void Communicator::allreduce_sum(float*, std::size_t) const {}
bool Communicator::any(bool flag) const { return flag; }
void Communicator::abort(int code) const { std::exit(code); }

#endif

}  // namespace lagrad
