#include "fluids/sph/dfsph_solver.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/parallel.h"

namespace lagrad::sph {
namespace {

constexpr Index kGrain = 256;        // particles per parallel task
constexpr Index kReduceChunk = 4096; // fixed chunk of the deterministic reductions
// A particle with fewer neighbors than this sits in a splash or a thin sheet; the divergence
// solve leaves it alone (its velocity divergence estimate is meaningless).
constexpr int kMinNeighborsForDivergence = 20;

void check_range(const char* name, double value, double lo, double hi, bool lo_open = false) {
  const bool ok = lo_open ? (value > lo && value <= hi) : (value >= lo && value <= hi);
  if (!ok)
    throw std::invalid_argument(std::string("DfsphOptions: ") + name + " must be in " +
                                (lo_open ? "(" : "[") + std::to_string(lo) + ", " +
                                std::to_string(hi) + "], got " + std::to_string(value));
}

inline float dot3(const float* a, const float* b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

}  // namespace

void DfsphOptions::validate() const {
  check_range("particle_radius", particle_radius, 0.0, 10.0, true);
  check_range("viscosity", viscosity, 0.0, 100.0);
  check_range("cfl", cfl, 0.0, 1.0, true);
  check_range("min_dt", min_dt, 0.0, 1.0, true);
  check_range("max_dt", max_dt, min_dt, 1.0);
  check_range("max_density_error", max_density_error, 0.0, 1.0, true);
  check_range("max_divergence_error", max_divergence_error, 0.0, 1.0, true);
  check_range("relaxation", relaxation, 0.0, 1.0, true);
  check_range("warm_start_factor", warm_start_factor, 0.0, 1.0);
  check_range("min_iterations", min_iterations, 0, 1000);
  check_range("max_iterations", max_iterations, std::max(1, min_iterations), 100000);
  for (int c = 0; c < 3; ++c)
    if (!std::isfinite(gravity[c]))
      throw std::invalid_argument("DfsphOptions: gravity must be finite, got component " +
                                  std::to_string(c) + " = " + std::to_string(gravity[c]));
}

DfsphSolver::DfsphSolver(const DfsphOptions& options, const BoundaryParticles& boundary)
    : opt_(options), kernel_(4.0f * options.particle_radius) {
  opt_.validate();
  if (boundary.positions.size() % 3 != 0)
    throw std::invalid_argument("DfsphSolver: boundary positions expected [k, 3], got " +
                                std::to_string(boundary.positions.size()) + " floats");
  // Fluid volume: the cubic lattice of spacing 2r at exactly rest density.
  const float d = 2.0f * opt_.particle_radius;
  double sum = 0;
  for (int i = -2; i <= 2; ++i)
    for (int j = -2; j <= 2; ++j)
      for (int k = -2; k <= 2; ++k)
        sum += kernel_.value(d * std::sqrt(static_cast<float>(i * i + j * j + k * k)));
  volume_ = static_cast<float>(1.0 / sum);

  bpos_ = boundary.positions;
  if (!bpos_.empty()) {
    bvol_ = boundary_volumes(bpos_, kernel_.support());
    bindex_ = std::make_unique<SpatialHashIndex>(bpos_.data(), static_cast<Index>(bpos_.size() / 3),
                                                 kernel_.support());
  }
}

void DfsphSolver::add_fluid(const std::vector<float>& positions, const std::vector<float>& velocities) {
  if (positions.size() % 3 != 0 || positions.size() != velocities.size())
    throw std::invalid_argument("DfsphSolver::add_fluid: positions and velocities expected [n, 3] "
                                "each, got " + std::to_string(positions.size()) + " and " +
                                std::to_string(velocities.size()) + " floats");
  for (float x : positions)
    if (!std::isfinite(x)) throw std::invalid_argument("DfsphSolver::add_fluid: non-finite position");
  for (float x : velocities)
    if (!std::isfinite(x)) throw std::invalid_argument("DfsphSolver::add_fluid: non-finite velocity");
  if (pos_.size() / 3 + positions.size() / 3 > static_cast<size_t>(INT32_MAX))
    throw std::invalid_argument("DfsphSolver::add_fluid: at most 2^31 - 1 particles are supported");
  pos_.insert(pos_.end(), positions.begin(), positions.end());
  vel_.insert(vel_.end(), velocities.begin(), velocities.end());
  n_ = static_cast<Index>(pos_.size() / 3);
  const size_t n = static_cast<size_t>(n_);
  acc_.resize(3 * n, 0.0f);
  kappa_sum_.resize(n, 0.0f);
  kappa_v_sum_.resize(n, 0.0f);
  kappa_.resize(n);
  kappa_v_.resize(n);
  residual_.resize(n);
  neighbors_valid_ = false;
}

Index DfsphSolver::remove_below(float min_y) {
  Index kept = 0;
  for (Index i = 0; i < n_; ++i) {
    if (!(pos_[3 * i + 1] >= min_y)) continue;
    for (int c = 0; c < 3; ++c) {
      pos_[3 * kept + c] = pos_[3 * i + c];
      vel_[3 * kept + c] = vel_[3 * i + c];
      acc_[3 * kept + c] = acc_[3 * i + c];
    }
    kappa_sum_[kept] = kappa_sum_[i];
    kappa_v_sum_[kept] = kappa_v_sum_[i];
    ++kept;
  }
  const Index removed = n_ - kept;
  if (removed == 0) return 0;
  n_ = kept;
  const size_t n = static_cast<size_t>(n_);
  pos_.resize(3 * n);
  vel_.resize(3 * n);
  acc_.resize(3 * n);
  kappa_sum_.resize(n);
  kappa_v_sum_.resize(n);
  kappa_.resize(n);
  kappa_v_.resize(n);
  residual_.resize(n);
  neighbors_valid_ = false;
  return removed;
}

const std::vector<float>& DfsphSolver::density_ratios() {
  if (!neighbors_valid_) update_neighbors();
  return rho_;
}

void DfsphSolver::update_neighbors() {
  const size_t n = static_cast<size_t>(n_);
  const float h = kernel_.support();
  RadiusSearchOptions opt;
  opt.metric = Metric::L2;
  // The overload that reuses the lists' buffers: no allocation once they are large enough.
  fixed_radius_search(pos_.data(), n_, pos_.data(), n_, h, opt, nullptr, nl_);
  NeighborList& bl = bl_;
  if (bindex_)
    fixed_radius_search(bpos_.data(), static_cast<Index>(bpos_.size() / 3), pos_.data(), n_, h, opt,
                        bindex_.get(), bl);

  grad_.resize(3 * static_cast<size_t>(nl_.num_neighbors()));
  nbr_.resize(static_cast<size_t>(nl_.num_neighbors()));
  rho_.resize(n);
  alpha_.resize(n);
  gb_.resize(3 * n);
  num_neighbors_.resize(n);
  const float V = volume_;
  parallel_for(n_, kGrain, [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) {
      const float* xi = &pos_[3 * i];
      float rho = 0.0f, sum_sq = 0.0f;
      float gsum[3] = {0.0f, 0.0f, 0.0f};
      for (Index q = nl_.row_splits[i]; q < nl_.row_splits[i + 1]; ++q) {
        nbr_[q] = static_cast<std::int32_t>(nl_.neighbors_index[q]);
        const float* xj = &pos_[3 * nl_.neighbors_index[q]];
        const float r = std::sqrt(nl_.distances[q]);
        const float f = V * kernel_.grad_factor(r);
        float* g = &grad_[3 * q];
        for (int c = 0; c < 3; ++c) g[c] = f * (xi[c] - xj[c]);
        rho += V * kernel_.value(r);
        for (int c = 0; c < 3; ++c) gsum[c] += g[c];
        sum_sq += dot3(g, g);
      }
      float gbi[3] = {0.0f, 0.0f, 0.0f};
      int nb = 0;
      if (bindex_) {
        for (Index q = bl.row_splits[i]; q < bl.row_splits[i + 1]; ++q) {
          const Index k = bl.neighbors_index[q];
          const float* xk = &bpos_[3 * k];
          const float r = std::sqrt(bl.distances[q]);
          const float vk = bvol_[k];
          rho += vk * kernel_.value(r);
          const float f = vk * kernel_.grad_factor(r);
          for (int c = 0; c < 3; ++c) gbi[c] += f * (xi[c] - xk[c]);
        }
        nb = static_cast<int>(bl.row_splits[i + 1] - bl.row_splits[i]);
      }
      for (int c = 0; c < 3; ++c) {
        gb_[3 * i + c] = gbi[c];
        gsum[c] += gbi[c];
      }
      const float denom = dot3(gsum, gsum) + sum_sq;
      rho_[i] = rho;
      alpha_[i] = denom > 1e-6f ? 1.0f / denom : 0.0f;
      num_neighbors_[i] = static_cast<int>(nl_.row_splits[i + 1] - nl_.row_splits[i]) - 1 + nb;
    }
  });
  neighbors_valid_ = true;
}

double DfsphSolver::mean_chunked(const std::vector<float>& values) const {
  if (n_ == 0) return 0.0;
  const double sum = deterministic_reduce(
      n_, kReduceChunk, 0.0,
      [&](Index, Index b, Index e) {
        double s = 0;
        for (Index i = b; i < e; ++i) s += values[i];
        return s;
      },
      [](double a, double b) { return a + b; });
  return sum / static_cast<double>(n_);
}

void DfsphSolver::apply_stiffness(const std::vector<float>& kappa, float scale) {
  parallel_for(n_, kGrain, [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) {
      const float ki = kappa[i];
      float a[3] = {ki * gb_[3 * i], ki * gb_[3 * i + 1], ki * gb_[3 * i + 2]};
      for (Index q = nl_.row_splits[i]; q < nl_.row_splits[i + 1]; ++q) {
        const float s = ki + kappa[nbr_[q]];
        const float* g = &grad_[3 * q];
        for (int c = 0; c < 3; ++c) a[c] += s * g[c];
      }
      for (int c = 0; c < 3; ++c) vel_[3 * i + c] -= scale * a[c];
    }
  });
}

// Rate of change of the density ratio from the current velocities:
// D(rho_i)/Dt / rho0 = sum_j V (v_i - v_j) . gradW_ij + v_i . sum_k Vb_k gradW_ik.
float DfsphSolver::density_rate(Index i) const {
  const float* vi = &vel_[3 * i];
  float d = 0.0f;
  for (Index q = nl_.row_splits[i]; q < nl_.row_splits[i + 1]; ++q) {
    const float* vj = &vel_[3 * nbr_[q]];
    const float* g = &grad_[3 * q];
    d += (vi[0] - vj[0]) * g[0] + (vi[1] - vj[1]) * g[1] + (vi[2] - vj[2]) * g[2];
  }
  return d + dot3(vi, &gb_[3 * i]);
}

// Both solves are relaxed Jacobi iterations in which a particle only ever pushes (kappa
// increments are >= 0, from the compression part of the residual). The warm start reuses a
// share of the previous step's accumulated stiffness, and only for particles that are
// compressing again; keeping less than all of it lets a stiffness that is no longer needed
// decay instead of pushing forever. kappa_ holds one iteration's increments; the error is
// measured before applying them.

void DfsphSolver::warm_start(std::vector<float>& kappa_sum, float scale, bool density) {
  if (!opt_.warm_start) {
    std::fill(kappa_sum.begin(), kappa_sum.end(), 0.0f);
    return;
  }
  const float dt = scale;
  const float factor = density ? opt_.warm_start_factor : 0.5f;
  parallel_for(n_, kGrain, [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) {
      const float rate = density_rate(i);
      const bool compressing = density ? rho_[i] + dt * rate > 1.0f : rate > 0.0f;
      kappa_sum[i] = compressing ? factor * kappa_sum[i] : 0.0f;
    }
  });
  apply_stiffness(kappa_sum, scale);
}

void DfsphSolver::divergence_solve() {
  const float dt = last_dt_ > 0.0f ? last_dt_ : opt_.max_dt;
  // Dimensionless stiffness: the velocity change is -sum_j V (k_i + k_j) gradW_ij - k_i gb_i.
  warm_start(kappa_v_sum_, 1.0f, false);
  const float omega = opt_.relaxation;
  int iter = 0;
  double err = 0;
  for (;;) {
    parallel_for(n_, kGrain, [&](Index b, Index e) {
      for (Index i = b; i < e; ++i) {
        // Only compression is corrected, and not in splashes and thin sheets, where the
        // divergence estimate from a sparse neighborhood is meaningless.
        float rate = density_rate(i);
        if (rate < 0.0f || num_neighbors_[i] < kMinNeighborsForDivergence) rate = 0.0f;
        residual_[i] = rate * dt;
        kappa_v_[i] = omega * rate * alpha_[i];
      }
    });
    err = mean_chunked(residual_);
    if ((iter >= opt_.min_iterations && err <= opt_.max_divergence_error) ||
        iter >= opt_.max_iterations)
      break;
    apply_stiffness(kappa_v_, 1.0f);
    for (Index i = 0; i < n_; ++i) kappa_v_sum_[i] += kappa_v_[i];
    ++iter;
  }
  stats_.divergence_iterations = iter;
  stats_.divergence_error = err;
}

void DfsphSolver::density_solve(float dt) {
  const float inv_dt2 = 1.0f / (dt * dt);
  // Stiffness with units of an acceleration potential: the velocity change is
  // -dt (sum_j V (k_i + k_j) gradW_ij + k_i gb_i), comparable between steps of different dt.
  warm_start(kappa_sum_, dt, true);
  const float omega = opt_.relaxation;
  int iter = 0;
  double err = 0;
  for (;;) {
    parallel_for(n_, kGrain, [&](Index b, Index e) {
      for (Index i = b; i < e; ++i) {
        // Compression of the predicted density ratio; expansion (free surface) is not corrected.
        const float s = std::max(rho_[i] + dt * density_rate(i) - 1.0f, 0.0f);
        residual_[i] = s;
        kappa_[i] = omega * s * alpha_[i] * inv_dt2;
      }
    });
    err = mean_chunked(residual_);
    if ((iter >= opt_.min_iterations && err <= opt_.max_density_error) ||
        iter >= opt_.max_iterations)
      break;
    apply_stiffness(kappa_, dt);
    for (Index i = 0; i < n_; ++i) kappa_sum_[i] += kappa_[i];
    ++iter;
  }
  stats_.density_iterations = iter;
  stats_.density_error = err;
}

void DfsphSolver::viscosity_accelerations() {
  const float h = kernel_.support();
  const float eps = 0.01f * h * h;
  const float coeff = 10.0f * opt_.viscosity;  // 2 (d + 2) nu in three dimensions
  parallel_for(n_, kGrain, [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) {
      float a[3] = {0.0f, 0.0f, 0.0f};
      if (coeff > 0.0f) {
        const float* xi = &pos_[3 * i];
        const float* vi = &vel_[3 * i];
        for (Index q = nl_.row_splits[i]; q < nl_.row_splits[i + 1]; ++q) {
          const Index j = nbr_[q];
          if (j == i) continue;
          const float* xj = &pos_[3 * j];
          const float* vj = &vel_[3 * j];
          const float vx = (vi[0] - vj[0]) * (xi[0] - xj[0]) + (vi[1] - vj[1]) * (xi[1] - xj[1]) +
                           (vi[2] - vj[2]) * (xi[2] - xj[2]);
          const float s = coeff * 2.0f / (rho_[i] + rho_[j]) * vx / (nl_.distances[q] + eps);
          const float* g = &grad_[3 * q];
          for (int c = 0; c < 3; ++c) a[c] += s * g[c];
        }
      }
      for (int c = 0; c < 3; ++c) acc_[3 * i + c] = a[c];
    }
  });
}

float DfsphSolver::choose_dt(double max_dt) const {
  const float dt_prev = last_dt_ > 0.0f ? last_dt_ : opt_.max_dt;
  const Eigen::Vector3f& g = opt_.gravity;
  const float vmax2 = deterministic_reduce(
      n_, kReduceChunk, 0.0f,
      [&](Index, Index b, Index e) {
        float m = 0.0f;
        for (Index i = b; i < e; ++i) {
          float v2 = 0.0f;
          for (int c = 0; c < 3; ++c) {
            const float v = vel_[3 * i + c] + dt_prev * (g[c] + acc_[3 * i + c]);
            v2 += v * v;
          }
          m = std::max(m, v2);
        }
        return m;
      },
      [](float a, float b) { return std::max(a, b); });
  const float diameter = 2.0f * opt_.particle_radius;
  double dt = opt_.max_dt;
  if (vmax2 > 0.0f) dt = std::min(dt, double(opt_.cfl) * diameter / std::sqrt(double(vmax2)));
  // Explicit viscosity is stable for dt <= 0.1 (2r)^2 / nu.
  if (opt_.viscosity > 0.0f) dt = std::min(dt, 0.1 * diameter * diameter / opt_.viscosity);
  dt = std::max(dt, double(opt_.min_dt));
  // Reach max_dt exactly; split the rest in two rather than leave a sliver for the next step.
  if (dt >= 0.999 * max_dt) dt = max_dt;
  else if (dt > 0.5 * max_dt) dt = 0.5 * max_dt;
  return static_cast<float>(dt);
}

void DfsphSolver::step(double max_dt) {
  if (!(max_dt > 0.0))
    throw std::invalid_argument("DfsphSolver::step: max_dt must be positive, got " + std::to_string(max_dt));
  if (!neighbors_valid_) update_neighbors();
  stats_ = StepStats{};
  if (opt_.divergence_solve) divergence_solve();
  viscosity_accelerations();
  const float dt = choose_dt(max_dt);
  const Eigen::Vector3f g = opt_.gravity;
  parallel_for(n_, kGrain, [&](Index b, Index e) {
    for (Index i = b; i < e; ++i)
      for (int c = 0; c < 3; ++c) vel_[3 * i + c] += dt * (g[c] + acc_[3 * i + c]);
  });
  density_solve(dt);
  parallel_for(n_, kGrain, [&](Index b, Index e) {
    for (Index i = 3 * b; i < 3 * e; ++i) pos_[i] += dt * vel_[i];
  });
  neighbors_valid_ = false;
  last_dt_ = dt;
  stats_.dt = dt;
  time_ += dt;
  ++steps_;
}

void DfsphSolver::advance(double duration) {
  if (!(duration >= 0.0))
    throw std::invalid_argument("DfsphSolver::advance: duration must be >= 0, got " + std::to_string(duration));
  const double target = time_ + duration;
  const double eps = 1e-9 * std::max(1.0, std::abs(target));
  while (target - time_ > eps) step(target - time_);
  time_ = target;
}

double DfsphSolver::mechanical_energy() const {
  const Eigen::Vector3f g = opt_.gravity;
  return deterministic_reduce(
      n_, kReduceChunk, 0.0,
      [&](Index, Index b, Index e) {
        double s = 0;
        for (Index i = b; i < e; ++i) {
          const float* v = &vel_[3 * i];
          const float* x = &pos_[3 * i];
          s += 0.5 * double(dot3(v, v)) - (double(g[0]) * x[0] + double(g[1]) * x[1] + double(g[2]) * x[2]);
        }
        return s;
      },
      [](double a, double b) { return a + b; });
}

}  // namespace lagrad::sph
