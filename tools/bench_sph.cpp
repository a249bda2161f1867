// `lagrad bench sph`: DFSPH time steps on a collapsing fluid block.
//
// Workload: a cube of N fluid particles (spacing 0.05) in the corner of a closed box 2.5 x 1.5
// x 1.2 times the cube's side, released from rest (a 3-D dam break); default solver options
// (density error 0.01%, divergence error 0.1%). After 10 warm-up steps, each timing covers 3
// full time steps (neighbor search, both solves, integration); the median of `repeats` is
// reported as simulated particle-steps per second.
#include <cmath>
#include <vector>

#include "bench_util.h"
#include "core/parallel.h"
#include "fluids/sph/dfsph_solver.h"
#include "registry.h"

namespace lagrad::tool {
namespace {

constexpr int kWarmupSteps = 10, kTimedSteps = 3;

void run(const BenchOptions& options, Json& out) {
  const std::vector<long> sizes = options.sizes.empty() ? std::vector<long>{10000, 100000} : options.sizes;
  out.set("workload", "cube of N particles released in the corner of a closed box (3-D dam break), "
                      "default DFSPH options; 3 steps per timing after 10 warm-up steps");
  Json results = Json::array();
  for (long n_wanted : sizes) {
    const int side = std::max(2, static_cast<int>(std::lround(std::cbrt(static_cast<double>(n_wanted)))));
    for (int threads : options.threads) {
      set_num_threads(threads);
      sph::DfsphOptions opt;
      const float r = opt.particle_radius, d = 2.0f * r, gap = 2.4f * r;
      const float a = side * d;
      const Eigen::Vector3f hi(2.5f * a, 1.5f * a, 1.2f * a);
      const sph::BoundaryParticles walls =
          sph::sample_box_surface(Eigen::Vector3f::Zero(), hi, sph::default_boundary_spacing(r), true);
      sph::DfsphSolver solver(opt, walls);
      std::vector<float> pos, vel;
      for (int i = 0; i < side; ++i)
        for (int j = 0; j < side; ++j)
          for (int k = 0; k < side; ++k) pos.insert(pos.end(), {gap + d * i, gap + d * j, gap + d * k});
      vel.assign(pos.size(), 0.0f);
      solver.add_fluid(pos, vel);
      for (int s = 0; s < kWarmupSteps; ++s) solver.step();
      long iterations = 0, steps = 0;
      const double ms = median_ms(options.repeats, [&] {
        for (int s = 0; s < kTimedSteps; ++s) {
          solver.step();
          iterations += solver.last_step().density_iterations + solver.last_step().divergence_iterations;
          ++steps;
        }
      });
      const double n = static_cast<double>(solver.num_particles());
      Json row = Json::object();
      row.set("particles", static_cast<std::int64_t>(solver.num_particles()));
      row.set("boundary_particles", static_cast<std::int64_t>(walls.size()));
      row.set("threads", threads);
      row.set("ms_per_step", ms / kTimedSteps);
      row.set("particle_steps_per_s", n * kTimedSteps / (ms / 1000.0));
      row.set("solver_iterations_per_step", static_cast<double>(iterations) / std::max(1L, steps));
      results.push(std::move(row));
    }
  }
  set_num_threads(0);
  out.set("results", std::move(results));
}

BenchRegistrar reg({"sph", "DFSPH fluid simulation: particle-steps per second (10k, 100k particles)", run});

}  // namespace
}  // namespace lagrad::tool
