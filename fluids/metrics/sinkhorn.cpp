#include "fluids/metrics/sinkhorn.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "fluids/metrics/mse_at_horizons.h"

namespace lagrad {

namespace {

struct Cloud {
  const std::vector<float>& p;
  std::size_t n;
};

double cost(const Cloud& x, std::size_t i, const Cloud& y, std::size_t j, int dim, const std::vector<double>& box) {
  double c = 0.0;
  for (int k = 0; k < dim; ++k) {
    const double d = displacement(x.p[i * static_cast<std::size_t>(dim) + static_cast<std::size_t>(k)],
                                  y.p[j * static_cast<std::size_t>(dim) + static_cast<std::size_t>(k)], box, k);
    c += d * d;
  }
  return c;
}

// out_i = -eps * log sum_j w * exp((pot_j - C_ij) / eps), the soft-min update of one potential;
// rows index `a`, columns `b`. Each row is a fixed-order sum: the result is the same at any
// thread count.
void softmin_update(const Cloud& a, const Cloud& b, const std::vector<double>& pot, double eps, int dim,
                    const std::vector<double>& box, std::vector<double>& out) {
  const double log_w = -std::log(static_cast<double>(b.n));
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, a.n), [&](const tbb::blocked_range<std::size_t>& r) {
    std::vector<double> z(b.n);
    for (std::size_t i = r.begin(); i < r.end(); ++i) {
      double zmax = -std::numeric_limits<double>::infinity();
      for (std::size_t j = 0; j < b.n; ++j) {
        z[j] = (pot[j] - cost(a, i, b, j, dim, box)) / eps;
        zmax = std::max(zmax, z[j]);
      }
      double s = 0.0;
      for (std::size_t j = 0; j < b.n; ++j) s += std::exp(z[j] - zmax);
      out[i] = -eps * (log_w + zmax + std::log(s));
    }
  });
}

struct OtResult {
  double value = 0.0;
  int iterations = 0;
  bool converged = false;
};

// Entropic OT between uniform clouds x and y: alternate f and g updates; every 10 iterations
// the row-marginal error sum_i |sum_j P_ij - 1/n| (columns are exact right after the g update)
// is checked against the threshold.
OtResult entropic_ot(const Cloud& x, const Cloud& y, double eps, int dim, const SinkhornOptions& o) {
  std::vector<double> f(x.n, 0.0), g(y.n, 0.0), f_next(x.n);
  OtResult r;
  for (int it = 1; it <= o.max_iterations; ++it) {
    softmin_update(x, y, g, eps, dim, o.periodic_box, f);
    softmin_update(y, x, f, eps, dim, o.periodic_box, g);
    r.iterations = it;
    if (it % 10 == 0 || it == o.max_iterations || it == 1) {
      // Row sums of P = a_i b_j exp((f_i + g_j - C_ij)/eps): the f update would bring them to
      // 1/n; their deviation is (1/n) |exp((f_i - f_next_i)/eps) - 1|.
      softmin_update(x, y, g, eps, dim, o.periodic_box, f_next);
      double err = 0.0;
      for (std::size_t i = 0; i < x.n; ++i) err += std::abs(std::exp((f[i] - f_next[i]) / eps) - 1.0);
      err /= static_cast<double>(x.n);
      if (err < o.threshold) {
        r.converged = true;
        break;
      }
    }
  }
  double sf = 0.0, sg = 0.0;
  for (double v : f) sf += v;
  for (double v : g) sg += v;
  r.value = sf / static_cast<double>(x.n) + sg / static_cast<double>(y.n);
  return r;
}

}  // namespace

SinkhornResult sinkhorn_divergence(const std::vector<float>& x, const std::vector<float>& y, int dim,
                                   const SinkhornOptions& o) {
  const std::string me = "sinkhorn_divergence: ";
  if (dim < 1) throw std::invalid_argument(me + "dim must be positive, got " + std::to_string(dim));
  const std::size_t d = static_cast<std::size_t>(dim);
  if (x.empty() || y.empty() || x.size() % d != 0 || y.size() % d != 0)
    throw std::invalid_argument(me + "expected two non-empty [n, dim=" + std::to_string(dim) + "] clouds, got " +
                                std::to_string(x.size()) + " and " + std::to_string(y.size()) + " coordinates");
  if (!(o.epsilon > 0)) throw std::invalid_argument(me + "epsilon must be positive, got " + std::to_string(o.epsilon));
  if (o.max_iterations < 1)
    throw std::invalid_argument(me + "max_iterations must be >= 1, got " + std::to_string(o.max_iterations));
  if (!o.periodic_box.empty() && o.periodic_box.size() != d)
    throw std::invalid_argument(me + "periodic_box has " + std::to_string(o.periodic_box.size()) +
                                " lengths, expected dim = " + std::to_string(dim));
  const Cloud cx{x, x.size() / d}, cy{y, y.size() / d};
  double eps = o.epsilon;
  if (o.relative_epsilon) {
    double mean = 0.0;
    for (std::size_t i = 0; i < cx.n; ++i)
      for (std::size_t j = 0; j < cy.n; ++j) mean += cost(cx, i, cy, j, dim, o.periodic_box);
    mean /= static_cast<double>(cx.n) * static_cast<double>(cy.n);
    eps *= mean;
    // Identical single points: any positive eps gives the same (zero) answer.
    if (!(eps > 0)) eps = o.epsilon;
  }
  const OtResult xy = entropic_ot(cx, cy, eps, dim, o);
  const OtResult xx = entropic_ot(cx, cx, eps, dim, o);
  const OtResult yy = entropic_ot(cy, cy, eps, dim, o);
  SinkhornResult r;
  r.ot_xy = xy.value;
  r.ot_xx = xx.value;
  r.ot_yy = yy.value;
  r.divergence = xy.value - 0.5 * (xx.value + yy.value);
  r.epsilon = eps;
  r.iterations = std::max({xy.iterations, xx.iterations, yy.iterations});
  r.converged = xy.converged && xx.converged && yy.converged;
  return r;
}

}  // namespace lagrad
