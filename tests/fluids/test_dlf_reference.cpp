// Self-checks of the double-precision DLF reference (dlf_reference.h) on hand cases whose result
// is known in closed form, before it is used to judge ParticleNetwork.
#include <doctest/doctest.h>

#include <cmath>

#include "dlf_reference.h"

using namespace lagrad;
using dlf_ref::Scene;
using dlf_ref::Weights;

namespace {

const ModelConfig kModel;
const double kDt = kModel.timestep;
const double kRadius = dlf_ref::filter_extent(kModel) / 2.0;

double poly6(double dist) {
  const double r = dist * dist / (kRadius * kRadius);
  return (1.0 - r) * (1.0 - r) * (1.0 - r);
}

std::vector<double>& values(Weights& w, const std::string& name) { return w.tensors.at(name).values; }

// Routes three input channels of f0 (96 wide: obstacle 0..31, fluid 32..63, dense 64..95) to the
// correction: dense1 copies them to f1[0..2], conv2/dense2 are zero so the residual gives f2 = f1,
// dense3 copies relu(f2[0..2]) to f3. correction = relu(f0[c]) / 128.
void route_to_correction(Weights& w, int c0, int c1, int c2) {
  auto& d1 = values(w, "dense1.weight");  // [64, 96]
  d1[0 * 96 + c0] = 1.0;
  d1[1 * 96 + c1] = 1.0;
  d1[2 * 96 + c2] = 1.0;
  auto& d3 = values(w, "dense3.weight");  // [3, 64]
  for (int k = 0; k < 3; ++k) d3[k * 64 + k] = 1.0;
}

// A 4x4x4 kernel [.., in, out] that is 1 at every voxel for (in, out): with linear interpolation
// the taps' weights sum to 1, so the convolution yields the sum of the neighbor importances.
void constant_kernel(Weights& w, const std::string& name, int in, int out) {
  auto& e = w.tensors.at(name + ".kernel");
  const Index ci = e.shape[3], co = e.shape[4];
  for (Index v = 0; v < 64; ++v) e.values[(v * ci + in) * co + out] = 1.0;
}

Scene particles(std::vector<double> pos) {
  Scene s;
  s.vel.assign(pos.size(), 0.0);
  s.pos = std::move(pos);
  return s;
}

}  // namespace

TEST_CASE("dlf reference: zero weights give pure gravity integration; lattice neighbor counts") {
  Scene s;
  for (int x = 0; x < 6; ++x)
    for (int y = 0; y < 6; ++y)
      for (int z = 0; z < 6; ++z) {
        s.pos.insert(s.pos.end(), {0.05 * x, 0.5 + 0.05 * y, 0.05 * z});
        s.vel.insert(s.vel.end(), {0.01 * x, -0.2, 0.005 * z});  // a slight shear: distances change
      }
  s.box = {0.0, 0.0, 0.0};
  s.box_normals = {0.0, 1.0, 0.0};
  const auto r = dlf_ref::step(dlf_ref::zero_weights(), s);
  const double g = static_cast<float>(-9.81);
  for (Index i = 0; i < s.num_fluid(); ++i)
    for (int k = 0; k < 3; ++k) {
      const double v = s.vel[3 * i + k], gk = k == 1 ? g : 0.0;
      CHECK(r.correction[3 * i + k] == 0.0);
      CHECK(r.pos[3 * i + k] == doctest::Approx(s.pos[3 * i + k] + kDt * v + 0.5 * kDt * kDt * gk).epsilon(1e-14));
      // The velocity comes from the positions: (pos' - pos) / dt = v + dt g / 2, not vel2.
      CHECK(r.vel[3 * i + k] == doctest::Approx(v + 0.5 * kDt * gk).epsilon(1e-12));
      CHECK(r.vel2[3 * i + k] == doctest::Approx(v + kDt * gk).epsilon(1e-14));
    }
  // Before the step the lattice spacing is 0.05 and the radius 0.1125 = 2.25 spacings: the
  // integer offsets with |o|^2 <= 5 (6 + 12 + 8 + 6 + 24 = 56 of them), clipped at the block's
  // faces (counted by enumerating the offsets); the shear (at most 2e-4 per unit offset) changes
  // no count.
  auto count_at = [&](int x, int y, int z) { return r.num_fluid_neighbors[(x * 6 + y) * 6 + z]; };
  CHECK(count_at(2, 2, 2) == 56);
  CHECK(count_at(3, 2, 3) == 56);
  CHECK(count_at(0, 0, 0) == 16);   // offsets with every component >= 0
  CHECK(count_at(5, 5, 5) == 16);
  CHECK(count_at(0, 2, 2) == 38);
  CHECK(count_at(1, 1, 1) == 41);
}

TEST_CASE("dlf reference: concat order [obstacle, fluid, dense], relu, residual only when widths match") {
  Weights w = dlf_ref::zero_weights();
  for (auto& v : values(w, "conv0_obstacle.bias")) v = 1.0;
  for (auto& v : values(w, "conv0_fluid.bias")) v = 2.0;
  for (auto& v : values(w, "dense0_fluid.bias")) v = 3.0;
  route_to_correction(w, 5, 32 + 6, 64 + 7);
  const Scene s = particles({0.1, 0.2, 0.3});  // alone: the convolutions see no neighbor
  auto r = dlf_ref::step(w, s);
  CHECK(r.num_fluid_neighbors[0] == 0);
  CHECK(r.correction[0] == doctest::Approx(1.0 / 128));
  CHECK(r.correction[1] == doctest::Approx(2.0 / 128));
  CHECK(r.correction[2] == doctest::Approx(3.0 / 128));
  CHECK(r.pos[0] == doctest::Approx(r.pos2[0] + 1.0 / 128));
  CHECK(r.vel[2] == doctest::Approx((r.pos[2] - 0.3) / kDt));

  // relu before every layer: a negative f0 channel contributes nothing.
  values(w, "conv0_fluid.bias")[6] = -2.0;
  r = dlf_ref::step(w, s);
  CHECK(r.correction[1] == 0.0);

  // Residual at layer 2 (64 -> 64) but not at layer 3 (64 -> 3): with conv1.bias c the chain
  // gives f2 = f1 = c (+ the routed channels) and f3 = relu(f2[0..2]).
  Weights w2 = dlf_ref::zero_weights();
  values(w2, "conv1.bias")[0] = 0.5;
  values(w2, "conv1.bias")[1] = -0.25;
  values(w2, "conv1.bias")[2] = 2.0;
  values(w2, "dense3.bias")[2] = 1.0;  // layer 3 has no residual: f3[2] = relu(f2[2]) + 1
  route_to_correction(w2, 0, 1, 2);
  r = dlf_ref::step(w2, s);
  CHECK(r.features[2][0] == doctest::Approx(0.5));  // f2 = f1 through the residual
  CHECK(r.features[2][1] == doctest::Approx(-0.25));
  CHECK(r.correction[0] == doctest::Approx(0.5 / 128));
  CHECK(r.correction[1] == 0.0);
  CHECK(r.correction[2] == doctest::Approx(3.0 / 128));
}

TEST_CASE("dlf reference: fluid convolution = poly6 window of the neighbors, query point excluded") {
  Weights w = dlf_ref::zero_weights();
  constant_kernel(w, "conv0_fluid", 0, 0);  // the ones channel -> out 0
  route_to_correction(w, 32, 33, 34);
  // Two particles 0.05 apart and one 0.2 away (outside the radius 0.1125); no velocity, so
  // the integration moves all of them equally.
  const Scene s = particles({0.0, 0.0, 0.0, 0.05, 0.0, 0.0, 0.0, 0.2, 0.0});
  const auto r = dlf_ref::step(w, s);
  CHECK(r.num_fluid_neighbors == std::vector<Index>{1, 1, 0});
  CHECK(r.conv0_fluid[0] == doctest::Approx(poly6(0.05)).epsilon(1e-12));
  CHECK(r.conv0_fluid[32] == doctest::Approx(poly6(0.05)).epsilon(1e-12));
  CHECK(r.conv0_fluid[64] == 0.0);
  CHECK(r.correction[0] == doctest::Approx(poly6(0.05) / 128).epsilon(1e-12));
  CHECK(r.correction[6] == 0.0);
  // Three particles around one: importances add.
  const Scene t = particles({0.0, 0.0, 0.0, 0.05, 0.0, 0.0, 0.0, -0.08, 0.0, 0.0, 0.0, 0.1});
  const auto q = dlf_ref::step(w, t);
  CHECK(q.conv0_fluid[0] == doctest::Approx(poly6(0.05) + poly6(0.08) + poly6(0.1)).epsilon(1e-12));
  CHECK(q.num_fluid_neighbors[0] == 3);
}

TEST_CASE("dlf reference: obstacle convolution reads the normals at the box points") {
  Weights w = dlf_ref::zero_weights();
  w.tensors["gravity"].values = {0.0, 0.0, 0.0};  // pos2 == pos exactly
  constant_kernel(w, "conv0_obstacle", 1, 3);     // normal y -> out 3
  route_to_correction(w, 3, 4, 5);
  Scene s = particles({0.1, 0.1, 0.1});
  // Below (within the radius), at exactly the particle (ignored, as a query point), far away.
  s.box = {0.1, 0.07, 0.1, 0.1, 0.1, 0.1, 0.1, -0.1, 0.1};
  s.box_normals = {0.0, 1.0, 0.0, 0.0, 5.0, 0.0, 0.0, 7.0, 0.0};
  const auto r = dlf_ref::step(w, s);
  CHECK(r.pos2 == s.pos);
  CHECK(r.conv0_obstacle[3] == doctest::Approx(poly6(0.03)).epsilon(1e-12));
  CHECK(r.correction[0] == doctest::Approx(poly6(0.03) / 128).epsilon(1e-12));
  CHECK(r.num_fluid_neighbors[0] == 0);  // the box points are not fluid neighbors
  // A normal of 2 doubles the response (the convolution is linear in the features).
  s.box_normals[1] = 2.0;
  CHECK(dlf_ref::step(w, s).correction[0] == doctest::Approx(2 * poly6(0.03) / 128).epsilon(1e-12));
}

TEST_CASE("dlf reference: missing or misshaped weights are named") {
  Weights w = dlf_ref::zero_weights();
  w.tensors.erase("conv2.kernel");
  CHECK_THROWS_WITH_AS(dlf_ref::step(w, particles({0, 0, 0})), "dlf_ref: missing tensor 'conv2.kernel'",
                       std::invalid_argument);
  w = dlf_ref::zero_weights();
  w.tensors["dense1.weight"].shape = {96, 64};
  CHECK_THROWS_WITH_AS(dlf_ref::step(w, particles({0, 0, 0})),
                       "dlf_ref: 'dense1.weight' expected [64, 96], got [96, 64]", std::invalid_argument);
}
