// Data parallelism in your own training loop, Horovod style: every rank sees its own shard of
// each batch, gradients are averaged across ranks before each step, and all ranks stay in
// lockstep. Run it as one process or under mpirun:
//
//   distributed_fit                      # one process
//   mpirun -np 2 distributed_fit         # two ranks, each half of every batch
//
// It fits y = sin(2 x0) cos(x1) + 0.5 x2^2 and exits non-zero unless the validation error is
// below 1e-2 and (under mpirun) every rank ends with bitwise the same parameters.
#include <lagrad/lagrad.h>

#include <cmath>
#include <cstdio>
#include <cstring>

using namespace lagrad;

struct Mlp : Module {
  std::shared_ptr<Dense> d1, d2;
  Mlp() {
    d1 = register_module("dense1", std::make_shared<Dense>(DenseOptions(32).in_features(3).activation("tanh")));
    d2 = register_module("dense2", std::make_shared<Dense>(DenseOptions(1).in_features(32)));
  }
  Tensor forward(const Tensor& x) { return d2->forward(d1->forward(x)); }
};

// Rows [first, first + n) of the batch drawn from `rng` (every rank draws the whole batch and
// keeps its shard, so the data order does not depend on the number of ranks).
static void shard(Rng& rng, Index batch, Index first, Index n, Tensor& x, Tensor& y) {
  x = Tensor({n, 3});
  y = Tensor({n, 1});
  for (Index i = 0; i < batch; ++i) {
    float p[3];
    for (float& v : p) v = rng.uniform(-1.0f, 1.0f);
    if (i < first || i >= first + n) continue;
    std::memcpy(x.data() + 3 * (i - first), p, sizeof p);
    y.data()[i - first] = std::sin(2 * p[0]) * std::cos(p[1]) + 0.5f * p[2] * p[2];
  }
}

int main(int argc, char** argv) {
  DistributedSession mpi(argc, argv);  // starts MPI under mpirun; nothing otherwise
  const Communicator& comm = Communicator::world();
  try {
    manual_seed(0);
    Mlp model;
    broadcast_parameters(model, comm);  // the same start on every rank
    Adam opt(model.parameters(), AdamOptions().lr(1e-2f));
    const Index batch = 128, per_rank = batch / comm.size(), first = comm.rank() * per_rank;
    Rng data(1);
    Tensor x, y;
    for (int step = 0; step < 600; ++step) {
      shard(data, batch, first, per_rank, x, y);
      opt.zero_grad();
      mse_loss(model.forward(x), y).backward();
      allreduce_gradients(model, comm);  // mean over the ranks, added in rank order
      opt.step();
    }
    // Validation on a fixed draw; every rank's parameters compared with rank 0's, bit for bit.
    Rng val(2);
    shard(val, 1024, 0, 1024, x, y);
    NoGradGuard no_grad;
    const float mse = mse_loss(model.forward(x), y).item();
    bool same = true;
    for (const auto& [name, p] : model.named_parameters()) {
      const std::vector<float> mine = p.to_vector(), all = comm.allgather(mine);
      for (size_t k = 0; k < all.size(); ++k) same &= std::memcmp(&all[k], &all[k % mine.size()], sizeof(float)) == 0;
    }
    if (comm.is_root())
      std::printf("distributed_fit: %d rank(s), validation mse %.5f, ranks %s\n", comm.size(), mse,
                  same ? "in lockstep" : "DIVERGED");
    return (mse < 1e-2f && same) ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "distributed_fit: error: %s\n", e.what());
    if (comm.size() > 1) comm.abort(1);
    return 1;
  }
}
