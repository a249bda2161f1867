#include "fluids/generators/taylor_green.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace lagrad {

namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double uniform01(std::uint64_t& state) { return static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53; }

void validate(const TaylorGreenOptions& o) {
  const std::string me = "taylor_green: ";
  if (o.dim != 2 && o.dim != 3) throw std::invalid_argument(me + "dim must be 2 or 3, got " + std::to_string(o.dim));
  if (o.particles_per_side < 2)
    throw std::invalid_argument(me + "particles_per_side must be >= 2, got " + std::to_string(o.particles_per_side));
  if (o.frames < 2) throw std::invalid_argument(me + "frames must be >= 2, got " + std::to_string(o.frames));
  if (o.write_every < 1) throw std::invalid_argument(me + "write_every must be >= 1, got " + std::to_string(o.write_every));
  if (!(o.dt > 0)) throw std::invalid_argument(me + "dt must be positive");
  if (!(o.viscosity >= 0)) throw std::invalid_argument(me + "viscosity must be >= 0");
  if (!(o.jitter >= 0 && o.jitter < 1)) throw std::invalid_argument(me + "jitter must be in [0, 1)");
  if (o.train < 0 || o.valid < 0 || o.test < 0 || o.train + o.valid + o.test < 1)
    throw std::invalid_argument(me + "train, valid and test counts must be >= 0 and not all 0");
}

struct Field {
  int dim;
  double phase[3];
  double viscosity;
  void velocity(const double* x, double t, double* v) const {
    const double U = std::exp(-dim * viscosity * t);
    const double cx = std::cos(x[0] - phase[0]), sx = std::sin(x[0] - phase[0]);
    const double cy = std::cos(x[1] - phase[1]), sy = std::sin(x[1] - phase[1]);
    const double sz = dim == 3 ? std::sin(x[2] - phase[2]) : 1.0;
    v[0] = U * cx * sy * sz;
    v[1] = -U * sx * cy * sz;
    if (dim == 3) v[2] = 0.0;
  }
};

double wrap(double x) {
  x = std::fmod(x, kTwoPi);
  return x < 0 ? x + kTwoPi : x;
}

double min_image(double d) { return d - kTwoPi * std::round(d / kTwoPi); }

}  // namespace

LagrangeBenchTrajectory taylor_green_trajectory(const TaylorGreenOptions& o, int index) {
  validate(o);
  std::uint64_t state = o.seed * 0x100000001B3ull + static_cast<std::uint64_t>(index) * 0x9E3779B97F4A7C15ull + 1;
  Field field{o.dim, {0, 0, 0}, o.viscosity};
  for (int k = 0; k < o.dim; ++k) field.phase[k] = kTwoPi * uniform01(state);
  const int side = o.particles_per_side;
  const double dx = kTwoPi / side;
  std::int64_t n = 1;
  for (int k = 0; k < o.dim; ++k) n *= side;
  const std::size_t d = static_cast<std::size_t>(o.dim);
  std::vector<double> x(static_cast<std::size_t>(n) * d);
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t rest = i;
    for (int k = 0; k < o.dim; ++k) {
      const double cell = static_cast<double>(rest % side);
      rest /= side;
      x[static_cast<std::size_t>(i) * d + static_cast<std::size_t>(k)] =
          wrap((cell + 0.5 + o.jitter * (uniform01(state) - 0.5)) * dx);
    }
  }
  LagrangeBenchTrajectory t;
  t.name = lagrangebench_trajectory_name(index);
  t.frames = o.frames;
  t.particles = n;
  t.dim = o.dim;
  t.particle_type.assign(static_cast<std::size_t>(n), 0);  // LagrangeBench's NodeType FLUID
  t.position.reserve(static_cast<std::size_t>(o.frames) * x.size());
  auto store = [&] {
    for (double v : x) t.position.push_back(static_cast<float>(v));
  };
  store();
  double time = 0.0;
  const double h = o.dt;
  for (int f = 1; f < o.frames; ++f) {
    for (int s = 0; s < o.write_every; ++s) {
      for (std::int64_t i = 0; i < n; ++i) {
        double* p = &x[static_cast<std::size_t>(i) * d];
        double k1[3] = {0, 0, 0}, k2[3] = {0, 0, 0}, k3[3] = {0, 0, 0}, k4[3] = {0, 0, 0}, q[3] = {0, 0, 0};
        field.velocity(p, time, k1);
        for (std::size_t k = 0; k < d; ++k) q[k] = p[k] + 0.5 * h * k1[k];
        field.velocity(q, time + 0.5 * h, k2);
        for (std::size_t k = 0; k < d; ++k) q[k] = p[k] + 0.5 * h * k2[k];
        field.velocity(q, time + 0.5 * h, k3);
        for (std::size_t k = 0; k < d; ++k) q[k] = p[k] + h * k3[k];
        field.velocity(q, time + h, k4);
        for (std::size_t k = 0; k < d; ++k) p[k] = wrap(p[k] + h / 6.0 * (k1[k] + 2 * k2[k] + 2 * k3[k] + k4[k]));
      }
      time += h;
    }
    store();
  }
  return t;
}

LagrangeBenchMetadata taylor_green_metadata(const TaylorGreenOptions& o) {
  validate(o);
  LagrangeBenchMetadata m;
  m.case_name = "TGV";
  m.solver = "lagrad analytic Taylor-Green advection (not SPH; see fluids/generators/taylor_green.h)";
  m.dim = o.dim;
  m.dt = o.dt;
  m.write_every = o.write_every;
  m.dx = kTwoPi / o.particles_per_side;
  m.bounds.assign(static_cast<std::size_t>(o.dim), {0.0, kTwoPi});
  m.periodic_boundary_conditions.assign(static_cast<std::size_t>(o.dim), true);
  m.default_connectivity_radius = 1.5 * m.dx;
  m.sequence_length_train = o.frames;
  m.sequence_length_test = o.frames;
  std::int64_t n = 1;
  for (int k = 0; k < o.dim; ++k) n *= o.particles_per_side;
  m.num_particles_max = static_cast<int>(n);
  return m;
}

LagrangeBenchMetadata write_taylor_green_dataset(const std::string& folder, const TaylorGreenOptions& o) {
  LagrangeBenchMetadata m = taylor_green_metadata(o);
  std::filesystem::create_directories(folder);
  const std::size_t d = static_cast<std::size_t>(o.dim);
  // Statistics over train (or, without train trajectories, over all written ones).
  std::vector<double> vs(d, 0.0), vss(d, 0.0), as(d, 0.0), ass(d, 0.0);
  double nv = 0, na = 0;
  int index = 0;
  const struct {
    const char* file;
    int count;
  } splits[] = {{"train.h5", o.train}, {"valid.h5", o.valid}, {"test.h5", o.test}};
  for (const auto& split : splits) {
    std::vector<LagrangeBenchTrajectory> ts;
    for (int i = 0; i < split.count; ++i) ts.push_back(taylor_green_trajectory(o, index++));
    if (split.count > 0 && (std::string(split.file) == "train.h5" || o.train == 0)) {
      for (const LagrangeBenchTrajectory& t : ts) {
        const std::size_t frame = static_cast<std::size_t>(t.particles) * d;
        for (std::int64_t f = 0; f + 1 < t.frames; ++f)
          for (std::size_t j = 0; j < frame; ++j) {
            const std::size_t at = static_cast<std::size_t>(f) * frame + j;
            const double v = min_image(static_cast<double>(t.position[at + frame]) - t.position[at]);
            vs[j % d] += v;
            vss[j % d] += v * v;
            if (j % d == 0) nv += 1;
            if (f + 2 < t.frames) {
              const double v2 = min_image(static_cast<double>(t.position[at + 2 * frame]) - t.position[at + frame]);
              as[j % d] += v2 - v;
              ass[j % d] += (v2 - v) * (v2 - v);
              if (j % d == 0) na += 1;
            }
          }
      }
    }
    write_lagrangebench_file((std::filesystem::path(folder) / split.file).string(), ts);
  }
  for (std::size_t k = 0; k < d; ++k) {
    const double vm = nv > 0 ? vs[k] / nv : 0.0, am = na > 0 ? as[k] / na : 0.0;
    m.vel_mean.push_back(vm);
    m.vel_std.push_back(nv > 0 ? std::sqrt(std::max(0.0, vss[k] / nv - vm * vm)) : 0.0);
    m.acc_mean.push_back(am);
    m.acc_std.push_back(na > 0 ? std::sqrt(std::max(0.0, ass[k] / na - am * am)) : 0.0);
  }
  write_lagrangebench_metadata((std::filesystem::path(folder) / "metadata.json").string(), m);
  return m;
}

}  // namespace lagrad
