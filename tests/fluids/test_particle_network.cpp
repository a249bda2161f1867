#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

#include "core/ops.h"
#include "core/random.h"
#include "core/tape.h"
#include "fluids/particle_network.h"

using namespace lagrad;

namespace {
// A small block of fluid above a floor of boundary particles.
void make_scene(Tensor& pos, Tensor& vel, Tensor& box, Tensor& normals, int n = 5) {
  Rng rng(5);
  std::vector<float> p, v, b, nr;
  for (int x = 0; x < n; ++x)
    for (int y = 0; y < n; ++y)
      for (int z = 0; z < n; ++z) {
        p.insert(p.end(), {0.05f * x + rng.uniform(-0.004f, 0.004f), 0.06f + 0.05f * y, 0.05f * z});
        v.insert(v.end(), {rng.uniform(-0.1f, 0.1f), rng.uniform(-0.1f, 0.1f), rng.uniform(-0.1f, 0.1f)});
      }
  for (int x = -2; x < n + 2; ++x)
    for (int z = -2; z < n + 2; ++z) {
      b.insert(b.end(), {0.05f * x, 0.0f, 0.05f * z});
      nr.insert(nr.end(), {0.0f, 1.0f, 0.0f});
    }
  pos = Tensor::from_vector({n * n * n, 3}, p);
  vel = Tensor::from_vector({n * n * n, 3}, v);
  box = Tensor::from_vector({static_cast<Index>(b.size() / 3), 3}, b);
  normals = Tensor::from_vector({static_cast<Index>(nr.size() / 3), 3}, nr);
}
}  // namespace

TEST_CASE("ParticleNetwork: parameter names and shapes match the PyTorch state dict") {
  ParticleNetwork net;
  std::vector<std::pair<std::string, Shape>> expected = {
      {"conv0_fluid.kernel", {4, 4, 4, 4, 32}},   {"conv0_fluid.bias", {32}},
      {"conv0_obstacle.kernel", {4, 4, 4, 3, 32}}, {"conv0_obstacle.bias", {32}},
      {"dense0_fluid.weight", {32, 4}},           {"dense0_fluid.bias", {32}},
      {"dense1.weight", {64, 96}},                {"dense1.bias", {64}},
      {"conv1.kernel", {4, 4, 4, 96, 64}},        {"conv1.bias", {64}},
      {"dense2.weight", {64, 64}},                {"dense2.bias", {64}},
      {"conv2.kernel", {4, 4, 4, 64, 64}},        {"conv2.bias", {64}},
      {"dense3.weight", {3, 64}},                 {"dense3.bias", {3}},
      {"conv3.kernel", {4, 4, 4, 64, 3}},         {"conv3.bias", {3}}};
  for (auto& [name, shape] : expected) {
    INFO(name);
    CHECK(net.find(name).shape() == shape);
  }
  CHECK(net.num_parameter_values() == 692902);
  CHECK(net.find("gravity").to_vector() == std::vector<float>{0.0f, -9.81f, 0.0f});
}

TEST_CASE("ParticleNetwork: zero weights give pure gravity integration") {
  ParticleNetwork net;
  for (auto& [n, t] : net.named_parameters()) t.vec().setZero();
  Tensor pos, vel, box, normals;
  make_scene(pos, vel, box, normals);
  const ParticleStep s = net.forward(pos, vel, box, normals);
  const float dt = 1.0f / 50.0f;
  for (Index i = 0; i < pos.dim(0); ++i) {
    const float vy = vel.at({i, 1});
    CHECK(s.pos.at({i, 1}) == doctest::Approx(pos.at({i, 1}) + dt * (2 * vy - 9.81f * dt) / 2).epsilon(1e-6));
    CHECK(s.pos.at({i, 0}) == doctest::Approx(pos.at({i, 0}) + dt * vel.at({i, 0})).epsilon(1e-6));
    CHECK(s.vel.at({i, 1}) == doctest::Approx(vy - 9.81f * dt / 2).epsilon(1e-4));
  }
  // Interior particles of a 5^3 block at spacing 0.05 have many neighbors within 0.1125.
  float max_n = 0;
  for (float c : s.num_fluid_neighbors.to_vector()) max_n = std::max(max_n, c);
  CHECK(max_n >= 25);
}

TEST_CASE("ParticleNetwork: gradients reach every parameter; bad shapes are named") {
  manual_seed(1);
  ParticleNetwork net;
  Tensor pos, vel, box, normals;
  make_scene(pos, vel, box, normals, 4);
  const ParticleStep s1 = net.forward(pos, vel, box, normals);
  const ParticleStep s2 = net.forward(s1.pos, s1.vel, box, normals);
  backward(sum(square(s2.pos)));
  for (auto& [n, t] : net.named_parameters()) {
    INFO(n);
    REQUIRE(t.has_grad());
    CHECK(t.grad().vec().cwiseAbs().maxCoeff() > 0.0f);
  }
  CHECK_THROWS_WITH_AS(net.forward(pos, Tensor::zeros({3, 3}), box, normals),
                       "ParticleNetwork: vel has 3 rows, pos 64", std::invalid_argument);
  CHECK_THROWS_WITH_AS(net.forward(pos, vel, Tensor::zeros({4, 2}), normals),
                       "ParticleNetwork: box expected [n, 3], got [4, 2]", std::invalid_argument);
}
