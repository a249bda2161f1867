// `lagrad bench network`: the whole DeepLagrangianFluids pipeline through the public API.
//
// Workload (synthetic, seeded): a fluid block of N particles on a lattice of spacing 0.05
// (jitter +-0.005, velocities U(-0.05, 0.05) m/s) resting 0.1 above the floor of a closed box
// whose walls are boundary particles at spacing 0.05 with inward normals, 0.1 from the fluid.
// The network is the default model (4x4x4 kernels, channels 32/64/64/3) with seeded random
// weights; timings do not depend on the weights.
//
// Training: the trainer's step. Per sample, two chained forward steps, the weighted distance
// loss of each against targets, loss = 128 * 0.5 (L1 + L2) / 16, one backward; per batch, one
// Adam step (eps 1e-6). A batch of 16 samples would take minutes on a small machine, so
// `samples_timed` samples are timed one by one and the batch is extrapolated:
//   batch_16_estimate_s = 16 * median(sample) + optimizer step
// iterations_per_s = 1 / batch_16_estimate_s, particles_per_s = 16 N / batch_16_estimate_s.
// sample_cpu_ms / step_cpu_ms: the process CPU time of the same work (on a loaded machine, a
// 1-thread run's CPU time is about its wall time on an idle one). With samples_timed = 16
// (--repeats 16) the measured batch is reported too.
// Peak memory: the peak RSS during one sample's forward + backward, the counter reset first
// (/proc/self/clear_refs, after glibc's malloc_trim), next to the RSS at the reset.
//
// Inference: one network step under NoGradGuard (neighbor searches included), median ms.
//
// FLOPs and fraction of peak (layers/flop_count.h summed over the layers, see network_flops):
// an inference step is the forward of the five convolutions (block GEMMs + interpolation
// gathers over the step's fluid and obstacle neighbor lists) and four dense layers; a training
// sample is two such forwards plus their backwards: every filter and weight gradient, and the
// input-feature gradients of conv1..3 and dense1..3 in both steps and of conv0_fluid/dense0 in
// the second step only (the first step's inputs need no gradient; box normals never do;
// position gradients are off, the default). Neighbor counts come from the network's own fluid
// lists (num_fluid_neighbors) and a search box -> positions after integration. Geometry, the
// searches, activations, losses and the optimizer step are not counted, so the fractions are
// lower bounds. fraction_of_peak = flop / time / the FP32 peak measured at the same thread count
// just before and after the run (core/peak_flops.h, the larger of the two).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <thread>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "bench_util.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"
#include "core/batch_backward.h"
#include "core/communicator.h"
#include "core/tape.h"
#include "fluids/particle_network.h"
#include "core/neighbor_search.h"
#include "layers/flop_count.h"
#include "layers/losses.h"
#include "optim/adam.h"
#include "registry.h"

namespace lagrad::tool {
namespace {

constexpr float kSpacing = 0.05f, kJitter = 0.005f, kMargin = 0.1f;
constexpr int kBatch = 16;

struct Scene {
  Tensor pos, vel, box, normals, target1, target2;
};

void push3(std::vector<float>& v, float x, float y, float z) { v.insert(v.end(), {x, y, z}); }

// N fluid particles in a box of boundary particles (see the top of the file).
Scene make_scene(Index n, float dt) {
  Rng rng(7);
  const auto side = static_cast<Index>(std::ceil(std::cbrt(static_cast<double>(n)) - 1e-9));
  std::vector<float> p, v, t1, t2;
  for (Index i = 0; i < n; ++i) {
    const Index x = i % side, z = (i / side) % side, y = i / (side * side);
    const float px = kSpacing * x + rng.uniform(-kJitter, kJitter);
    const float py = kMargin + kSpacing * y + rng.uniform(-kJitter, kJitter);
    const float pz = kSpacing * z + rng.uniform(-kJitter, kJitter);
    const float vx = rng.uniform(-0.05f, 0.05f), vy = rng.uniform(-0.05f, 0.05f), vz = rng.uniform(-0.05f, 0.05f);
    push3(p, px, py, pz);
    push3(v, vx, vy, vz);
    // Ballistic targets with a little noise: what the network would be trained to predict.
    push3(t1, px + dt * vx, py + dt * vy - 0.5f * 9.81f * dt * dt, pz + dt * vz);
    push3(t2, px + 2 * dt * vx, py + 2 * dt * vy - 2.0f * 9.81f * dt * dt, pz + 2 * dt * vz);
  }
  // Box [lo, hi] around the block: floor y = 0, ceiling kMargin above the top layer.
  const float lo = -kMargin, hi = kSpacing * static_cast<float>(side - 1) + kMargin;
  const float top = kMargin + kSpacing * static_cast<float>((n - 1) / (side * side)) + kMargin;
  const auto cells = [](float a, float b) { return static_cast<Index>(std::lround((b - a) / kSpacing)); };
  const Index nw = cells(lo, hi), nh = cells(0.0f, top);
  std::vector<float> b, nr;
  const auto wall = [&](float x, float y, float z, float nx, float ny, float nz) {
    push3(b, x, y, z);
    push3(nr, nx, ny, nz);
  };
  for (Index i = 0; i <= nw; ++i)
    for (Index k = 0; k <= nw; ++k) {
      const float x = lo + kSpacing * i, z = lo + kSpacing * k;
      wall(x, 0.0f, z, 0, 1, 0);
      wall(x, top, z, 0, -1, 0);
    }
  for (Index j = 1; j < nh; ++j) {
    const float y = kSpacing * j;
    for (Index i = 0; i <= nw; ++i) {
      const float s = lo + kSpacing * i;
      wall(lo, y, s, 1, 0, 0);
      wall(hi, y, s, -1, 0, 0);
      if (i == 0 || i == nw) continue;  // the corner columns belong to the x walls
      wall(s, y, lo, 0, 0, 1);
      wall(s, y, hi, 0, 0, -1);
    }
  }
  const auto rows = [](std::vector<float> data) {
    const auto r = static_cast<Index>(data.size() / 3);
    return Tensor::from_vector({r, 3}, std::move(data));
  };
  return {rows(p), rows(v), rows(b), rows(nr), rows(t1), rows(t2)};
}

// The trainer's per-sample loss, scaled as in a batch of 16, then backward.
Tensor sample_loss(ParticleNetwork& net, const Scene& s) {
  const ParticleStep s1 = net.forward(s.pos, s.vel, s.box, s.normals);
  const Tensor l1 = weighted_distance_loss(s1.pos, s.target1, s1.num_fluid_neighbors);
  const ParticleStep s2 = net.forward(s1.pos, s1.vel, s.box, s.normals);
  const Tensor l2 = weighted_distance_loss(s2.pos, s.target2, s2.num_fluid_neighbors);
  return mul(mul(add(l1, l2), 0.5f), 128.0f / kBatch);
}

float sample_step(ParticleNetwork& net, const Scene& s) {
  const ParticleStep s1 = net.forward(s.pos, s.vel, s.box, s.normals);
  const Tensor l1 = weighted_distance_loss(s1.pos, s.target1, s1.num_fluid_neighbors);
  const ParticleStep s2 = net.forward(s1.pos, s1.vel, s.box, s.normals);
  const Tensor l2 = weighted_distance_loss(s2.pos, s.target2, s2.num_fluid_neighbors);
  const Tensor loss = mul(mul(add(l1, l2), 0.5f), 128.0f / kBatch);
  const float value = loss.item();
  backward(loss);
  return value;
}

// Wall and process CPU time of f() in ms. On a shared machine the CPU time of a 1-thread run is
// close to what the wall time would be on an idle one.
struct Time {
  double wall_ms, cpu_ms;
};
double cpu_now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}
Time time_of(const std::function<void()>& f) {
  const double c = cpu_now_ms();
  const auto a = std::chrono::steady_clock::now();
  f();
  return {std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count(), cpu_now_ms() - c};
}

// Peak RSS of f() after resetting the counter; also the RSS at the reset.
struct Memory {
  bool reset;
  double before_mib, peak_mib;
};
Memory measure_memory(const std::function<void()>& f) {
  Memory m;
#if defined(__GLIBC__)
  malloc_trim(0);  // hand memory freed by earlier runs back, so the baseline is this run's
#endif
  m.reset = reset_peak_rss();
  m.before_mib = peak_rss_mib();  // after a reset, the peak is the current RSS
  f();
  m.peak_mib = peak_rss_mib();
  return m;
}

void put_memory(Json& r, const Memory& m) {
  r.set("peak_rss_mib", m.peak_mib);
  r.set("rss_before_mib", m.before_mib);
  r.set("peak_rss_reset", m.reset);
}

// FLOPs of one network step on n fluid particles with e_fluid fluid and e_box obstacle
// neighbor entries: forward, and backward (input_grad: the step's input features need a gradient).
struct StepFlops {
  double forward = 0.0, backward = 0.0;
};
StepFlops network_flops(const ModelConfig& cfg, Index n, Index box, Index e_fluid, Index e_box, bool input_grad) {
  const Index cells = Index(cfg.kernel_size[0]) * cfg.kernel_size[1] * cfg.kernel_size[2];
  const std::vector<int>& ch = cfg.layer_channels;
  const Index in0 = 1 + 3 + cfg.other_feats_channels;  // [1, vel2 (, other_feats)]
  StepFlops f;
  const auto conv = [&](CConvWork w, bool feature_grad) {
    f.forward += cconv_forward_flops(w);
    f.backward += cconv_filter_grad_flops(w) + (feature_grad ? cconv_feature_grad_flops(w) : 0.0);
  };
  const auto dense = [&](Index in, Index out, bool feature_grad) {
    f.forward += dense_forward_flops(n, in, out);
    f.backward += dense_backward_flops(n, in, out, feature_grad);
  };
  conv({n, n, e_fluid, cells, 8, in0, ch[0]}, input_grad);  // conv0_fluid
  conv({n, box, e_box, cells, 8, 3, ch[0]}, false);        // conv0_obstacle (box normals)
  dense(in0, ch[0], input_grad);                            // dense0_fluid
  Index in = 3 * ch[0];
  for (size_t k = 1; k < ch.size(); ++k) {
    conv({n, n, e_fluid, cells, 8, in, ch[k]}, true);
    dense(in, ch[k], true);
    in = ch[k];
  }
  return f;
}

// Obstacle neighbor entries of a step from (pos, vel): box points within the filter radius of
// the integrated positions, as conv0_obstacle searches them.
Index box_edges(const ModelConfig& cfg, const Tensor& pos, const Tensor& vel, const Tensor& box) {
  const Index n = pos.dim(0);
  const float dt = cfg.timestep;
  std::vector<float> p2(static_cast<size_t>(3 * n));
  for (Index i = 0; i < 3 * n; ++i) {
    const float v = vel.data()[i], v2 = v + dt * cfg.gravity[static_cast<size_t>(i % 3)];
    p2[static_cast<size_t>(i)] = pos.data()[i] + (v2 + v) * dt * 0.5f;
  }
  const NeighborList nl = fixed_radius_search(box.data(), box.dim(0), p2.data(), n, 0.5f * cfg.filter_extent());
  return static_cast<Index>(nl.neighbors_index.size());
}

Index fluid_edges(const ParticleStep& s) {
  double e = 0.0;
  for (Index i = 0; i < s.num_fluid_neighbors.numel(); ++i) e += s.num_fluid_neighbors.data()[i];
  return static_cast<Index>(e);
}

Json train_run(Index n, int threads, int samples) {
  set_num_threads(threads);
  manual_seed(1);
  ParticleNetwork net;
  Adam opt(net.named_parameters(), AdamOptions().lr(1e-3f).eps(1e-6f));
  const Scene scene = make_scene(n, net.config().timestep);

  // The work of a sample: its two steps' neighbor counts, from a no-grad pass.
  double sample_flop = 0.0;
  {
    NoGradGuard no_grad;
    const ModelConfig& cfg = net.config();
    const ParticleStep s1 = net.forward(scene.pos, scene.vel, scene.box, scene.normals);
    const ParticleStep s2 = net.forward(s1.pos, s1.vel, scene.box, scene.normals);
    const Index k = scene.box.dim(0);
    const StepFlops f1 = network_flops(cfg, n, k, fluid_edges(s1), box_edges(cfg, scene.pos, scene.vel, scene.box), false);
    const StepFlops f2 = network_flops(cfg, n, k, fluid_edges(s2), box_edges(cfg, s1.pos, s1.vel, scene.box), true);
    sample_flop = f1.forward + f1.backward + f2.forward + f2.backward;
  }
  PeakAround peak(threads);

  // The warm-up sample (first allocations, thread pool start) is the one whose memory is measured.
  float loss = 0.0f;
  const Memory mem = measure_memory([&] { loss = sample_step(net, scene); });
  // As in a batch: gradients of the samples accumulate; the optimizer step (and zero_grad) is
  // timed after each sample so that it always has gradients to apply.
  std::vector<double> sample_ms, sample_cpu_ms, opt_ms;
  opt.zero_grad();
  for (int i = 0; i < samples; ++i) {
    const Time t = time_of([&] { sample_step(net, scene); });
    sample_ms.push_back(t.wall_ms);
    sample_cpu_ms.push_back(t.cpu_ms);
    opt_ms.push_back(time_of([&] {
                       opt.step();
                       opt.zero_grad();
                     }).wall_ms);
  }
  peak.finish();
  const double sample = median(sample_ms), optimizer = median(opt_ms);
  const double batch_s = (kBatch * sample + optimizer) / 1000.0;
  double total_ms = optimizer;
  for (double t : sample_ms) total_ms += t;

  Json r = Json::object();
  r.set("threads", threads);
  r.set("samples_timed", samples);
  r.set("sample_ms", sample);
  r.set("sample_ms_min", *std::min_element(sample_ms.begin(), sample_ms.end()));
  r.set("sample_ms_max", *std::max_element(sample_ms.begin(), sample_ms.end()));
  r.set("sample_cpu_ms", median(sample_cpu_ms));
  r.set("sample_flop", sample_flop);
  r.set("sample_gflops", sample_flop / (sample * 1e6));
  r.set("sample_fraction_of_peak", peak.fraction(sample_flop, sample));
  r.set("peak", peak.json());
  r.set("optimizer_step_ms", optimizer);
  if (samples == kBatch) r.set("batch_16_measured_s", total_ms / 1000.0);
  r.set("batch_16_estimate_s", batch_s);
  r.set("iterations_per_s", 1.0 / batch_s);
  r.set("particles_per_s", kBatch * static_cast<double>(n) / batch_s);
  r.set("first_loss", static_cast<double>(loss));
  put_memory(r, mem);
  return r;
}

Json inference_run(Index n, int threads, int repeats) {
  set_num_threads(threads);
  manual_seed(1);
  ParticleNetwork net;
  const Scene scene = make_scene(n, net.config().timestep);
  NoGradGuard no_grad;
  const auto step = [&] { net.forward(scene.pos, scene.vel, scene.box, scene.normals); };
  double first_ms = 0.0;
  const Memory mem = measure_memory([&] { first_ms = time_of(step).wall_ms; });
  const ParticleStep s1 = net.forward(scene.pos, scene.vel, scene.box, scene.normals);
  const double step_flop = network_flops(net.config(), n, scene.box.dim(0), fluid_edges(s1),
                                         box_edges(net.config(), scene.pos, scene.vel, scene.box), false)
                               .forward;
  PeakAround peak(threads);
  // Fewer repetitions for slow steps, so that the 100k runs stay within a minute or two.
  const int reps = first_ms > 2000.0 ? std::min(repeats, 3) : repeats;
  std::vector<double> t, cpu;
  for (int i = 0; i < std::max(reps, 1); ++i) {
    const Time ti = time_of(step);
    t.push_back(ti.wall_ms);
    cpu.push_back(ti.cpu_ms);
  }
  peak.finish();

  Json r = Json::object();
  r.set("particles", static_cast<std::int64_t>(n));
  r.set("box_particles", static_cast<std::int64_t>(scene.box.dim(0)));
  r.set("threads", threads);
  r.set("repeats", static_cast<int>(t.size()));
  r.set("step_ms", median(t));
  r.set("step_ms_min", *std::min_element(t.begin(), t.end()));
  r.set("step_cpu_ms", median(cpu));
  r.set("first_step_ms", first_ms);
  r.set("step_flop", step_flop);
  r.set("flop_per_particle", step_flop / static_cast<double>(n));
  r.set("step_gflops", step_flop / (median(t) * 1e6));
  r.set("fraction_of_peak", peak.fraction(step_flop, median(t)));
  r.set("peak", peak.json());
  put_memory(r, mem);
  return r;
}

void run_bench(const BenchOptions& opt, Json& out) {
  const std::vector<long> train_sizes = opt.sizes.empty() ? std::vector<long>{6000} : opt.sizes;
  const std::vector<long> infer_sizes = opt.sizes.empty() ? std::vector<long>{10000, 100000} : opt.sizes;
  const int samples = std::clamp(opt.repeats, 1, kBatch);
  out.set("model", "default DLF network (4x4x4 kernels, channels 32/64/64/3), random weights");
  out.set("hardware_threads", static_cast<int>(std::thread::hardware_concurrency()));
  out.set("batch_size", kBatch);
  out.set("note",
          "batch_16_estimate_s = 16 * median(sample_ms) + optimizer_step_ms (samples timed one by one, "
          "extrapolated; --repeats 16 measures a whole batch); *_ms are wall clock, *_cpu_ms process CPU time");

  Json training = Json::array();
  for (long n : train_sizes) {
    const Scene probe = make_scene(static_cast<Index>(n), ModelConfig().timestep);
    Json t = Json::object();
    t.set("particles", static_cast<std::int64_t>(n));
    t.set("box_particles", static_cast<std::int64_t>(probe.box.dim(0)));
    Json runs = Json::array();
    for (int th : opt.threads) runs.push(train_run(static_cast<Index>(n), th, samples));
    t.set("runs", std::move(runs));
    training.push(std::move(t));
  }
  out.set("training", std::move(training));

  Json inference = Json::array();
  for (long n : infer_sizes)
    for (int th : opt.threads) inference.push(inference_run(static_cast<Index>(n), th, opt.repeats));
  out.set("inference", std::move(inference));
  set_num_threads(0);
}

// One training batch as `lagrad train` runs it: kBatch samples through batch_backward (samples
// in flight = threads; under mpirun each rank takes its share and all add every per-sample
// gradient in sample order), then one Adam step.
void run_train_batch(const BenchOptions& opt, Json& out) {
  const Communicator& comm = Communicator::world();
  const std::vector<long> sizes = opt.sizes.empty() ? std::vector<long>{6000} : opt.sizes;
  out.set("model", "default DLF network, random weights; batch of 16 samples (2 chained steps + loss + backward each)");
  out.set("ranks", comm.size());
  out.set("hardware_threads", static_cast<int>(std::thread::hardware_concurrency()));
  Json runs = Json::array();
  for (long n : sizes)
    for (int th : opt.threads) {
      set_num_threads(th);
      manual_seed(1);
      ParticleNetwork net;
      Adam adam(net.parameters(), AdamOptions().lr(1e-3f).eps(1e-6f));
      std::vector<Tensor> params;
      for (const Tensor& p : net.parameters()) params.push_back(p);
      const Scene scene = make_scene(static_cast<Index>(n), net.config().timestep);
      BatchBackwardOptions bo;
      bo.communicator = &comm;
      auto batch = [&] {
        adam.zero_grad();
        batch_backward(kBatch, [&](size_t) { return sample_loss(net, scene); }, params, bo);
        adam.step();
      };
      batch();  // warm-up: first allocations, thread pool start
      std::vector<double> wall, cpu;
      for (int i = 0; i < std::max(1, std::min(opt.repeats, 3)); ++i) {
        comm.barrier();
        const Time t = time_of(batch);
        wall.push_back(t.wall_ms / 1000.0);
        cpu.push_back(t.cpu_ms / 1000.0);
      }
      const double s = median(wall);
      Json r = Json::object();
      r.set("particles", static_cast<std::int64_t>(n));
      r.set("ranks", comm.size());
      r.set("threads_per_rank", th);
      r.set("batch_s", s);
      r.set("batch_cpu_s_rank0", median(cpu));
      r.set("iterations_per_s", 1.0 / s);
      r.set("samples_per_s", kBatch / s);
      r.set("particles_per_s", kBatch * static_cast<double>(n) / s);
      runs.push(std::move(r));
    }
  out.set("runs", std::move(runs));
  set_num_threads(0);
}

BenchRegistrar reg_batch({"train_batch",
                          "one DLF training batch (16 samples) as lagrad train runs it, sample-parallel; under "
                          "mpirun spread over the ranks",
                          run_train_batch});

BenchRegistrar reg({"network",
                    "DLF network: training step (2 chained steps + loss + backward per sample, Adam per batch of 16, "
                    "extrapolated from timed samples), inference ms/step, peak RSS; --sizes sets the particle counts",
                    run_bench});

}  // namespace
}  // namespace lagrad::tool
