// ParticleNetwork (float32) against the double-precision DLF reference (dlf_reference.h), with the
// published weights, on a small scene: a 6x6x6 block of fluid next to a floor and a wall.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "core/random.h"
#include "core/tape.h"
#include "dlf_reference.h"
#include "fluids/particle_network.h"
#include "fluids/pretrained_weights.h"
#include "optim/checkpoint.h"

using namespace lagrad;

namespace {

const std::string kWeights = LAGRAD_DATA_DIR "/dlf_pretrained/pretrained_model_weights.pt";

std::vector<double> as_double(const Tensor& t) {
  const float* v = t.data();
  return std::vector<double>(v, v + t.numel());
}

Tensor as_float(const std::vector<double>& v) {
  std::vector<float> f(v.begin(), v.end());
  return Tensor::from_vector({static_cast<Index>(v.size() / 3), 3}, std::move(f));
}

// Every coordinate an exact float, so both sides see the same inputs. Fluid: 6x6x6 at spacing
// 0.05 from (0.05, 0.05, 0.05), velocities uniform in [-0.5, 0.5]. Boundary at spacing 0.025: a
// floor y = 0 (normal +y) over x, z in [-0.05, 0.35] and a wall x = 0 (normal +x) over
// y in (0, 0.3], z in [-0.05, 0.35]: 289 + 204 points, within the radius of the block's faces.
dlf_ref::Scene test_scene(std::uint64_t seed) {
  Rng rng(seed);
  dlf_ref::Scene s;
  auto f = [](double x) { return static_cast<double>(static_cast<float>(x)); };
  for (int x = 0; x < 6; ++x)
    for (int y = 0; y < 6; ++y)
      for (int z = 0; z < 6; ++z) {
        s.pos.insert(s.pos.end(), {f(0.05 + 0.05 * x), f(0.05 + 0.05 * y), f(0.05 + 0.05 * z)});
        for (int k = 0; k < 3; ++k) s.vel.push_back(rng.uniform(-0.5f, 0.5f));
      }
  for (int a = 0; a <= 16; ++a)
    for (int b = 0; b <= 16; ++b) {
      s.box.insert(s.box.end(), {f(-0.05 + 0.025 * a), 0.0, f(-0.05 + 0.025 * b)});
      s.box_normals.insert(s.box_normals.end(), {0.0, 1.0, 0.0});
    }
  for (int a = 1; a <= 12; ++a)
    for (int b = 0; b <= 16; ++b) {
      s.box.insert(s.box.end(), {0.0, f(0.025 * a), f(-0.05 + 0.025 * b)});
      s.box_normals.insert(s.box_normals.end(), {1.0, 0.0, 0.0});
    }
  return s;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

struct LagradStep {
  std::vector<double> pos, vel;
  std::vector<Index> num_fluid_neighbors;
};

LagradStep lagrad_step(ParticleNetwork& net, const dlf_ref::Scene& s) {
  NoGradGuard no_grad;
  const ParticleStep r = net.forward(as_float(s.pos), as_float(s.vel), as_float(s.box), as_float(s.box_normals));
  LagradStep out{as_double(r.pos), as_double(r.vel), {}};
  for (float c : r.num_fluid_neighbors.to_vector()) out.num_fluid_neighbors.push_back(static_cast<Index>(c));
  return out;
}

// Float32 agreement of one step. The reference's positions are pos2 + correction in double;
// lagrad's carry float rounding of pos2 (|pos| < 1: 6e-8 each) and of the features (relative
// ~1e-6 of the correction after four layers of sums over ~30 neighbors x 64-96 channels).
// Tolerance: 1e-5 of the largest correction + 2e-7 for the position rounding; velocities are
// position differences over dt, so the same divided by dt.
void check_agreement(const dlf_ref::Step& ref, const LagradStep& got, const std::string& what) {
  const double corr_scale = max_abs(ref.correction);
  const double pos_err = max_abs_diff(ref.pos, got.pos);
  const double vel_err = max_abs_diff(ref.vel, got.vel);
  const double dt = ModelConfig().timestep;
  const double pos_tol = 1e-5 * corr_scale + 2e-7;
  MESSAGE(what << ": max |correction| " << corr_scale << ", max |pos diff| " << pos_err << " (tolerance " << pos_tol
                << "), max |vel diff| " << vel_err << " (tolerance " << pos_tol / dt << ")");
  CHECK(corr_scale > 1e-4);  // the network does something on this scene
  CHECK(pos_err < pos_tol);
  CHECK(vel_err < pos_tol / dt);
  CHECK(got.num_fluid_neighbors == ref.num_fluid_neighbors);
}

}  // namespace

TEST_CASE("ParticleNetwork matches the double-precision DLF reference with the published weights") {
  const NamedTensors w = read_torch_state_dict(kWeights);
  ParticleNetwork net;
  load_model_state(net, w);
  const dlf_ref::Weights ref_w = dlf_ref::weights_from(w);
  const dlf_ref::Scene s0 = test_scene(7);

  const dlf_ref::Step ref1 = dlf_ref::step(ref_w, s0);
  const LagradStep got1 = lagrad_step(net, s0);
  check_agreement(ref1, got1, "step 1");
  // The scene exercises both convolution inputs and the block's faces.
  CHECK(max_abs(ref1.conv0_obstacle) > 0.1);
  CHECK(*std::min_element(ref1.num_fluid_neighbors.begin(), ref1.num_fluid_neighbors.end()) < 20);
  CHECK(*std::max_element(ref1.num_fluid_neighbors.begin(), ref1.num_fluid_neighbors.end()) > 40);

  // Two chained steps, each side fed its own results.
  dlf_ref::Scene s1_ref = dlf_ref::advance(s0, ref1);
  dlf_ref::Scene s1_got = s0;
  s1_got.pos = got1.pos;
  s1_got.vel = got1.vel;
  const dlf_ref::Step ref2 = dlf_ref::step(ref_w, s1_ref);
  const LagradStep got2 = lagrad_step(net, s1_got);
  check_agreement(ref2, got2, "step 2");
}

TEST_CASE("the reference comparison catches a swapped kernel axis order") {
  // WEIGHTS.md: kernels are [z, y, x, in, out]; reading them as [x, y, z, ...] is the classic
  // porting bug. Swapping axes 0 and 2 of one kernel in the reference must move the step far
  // beyond the tolerance above.
  const NamedTensors w = read_torch_state_dict(kWeights);
  ParticleNetwork net;
  load_model_state(net, w);
  dlf_ref::Weights swapped = dlf_ref::weights_from(w);
  auto& k = swapped.tensors.at("conv0_obstacle.kernel").values;  // [4, 4, 4, 3, 32]
  const std::vector<double> orig = k;
  for (int z = 0; z < 4; ++z)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x)
        for (int c = 0; c < 96; ++c) k[((z * 4 + y) * 4 + x) * 96 + c] = orig[((x * 4 + y) * 4 + z) * 96 + c];
  const dlf_ref::Scene s0 = test_scene(7);
  const dlf_ref::Step ref = dlf_ref::step(swapped, s0);
  const LagradStep got = lagrad_step(net, s0);
  const double tol = 1e-5 * max_abs(ref.correction) + 2e-7;
  MESSAGE("swapped x/z axes of conv0_obstacle.kernel: max |pos diff| " << max_abs_diff(ref.pos, got.pos));
  CHECK(max_abs_diff(ref.pos, got.pos) > 100 * tol);
}
