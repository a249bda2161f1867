// Optimizer state: names, round trip through state_tensors/load_state, and load errors.
#include <doctest/doctest.h>

#include <vector>

#include "optim/adam.h"
#include "optim/sgd.h"

using namespace lagrad;

namespace {

Tensor param(const Shape& shape, float start) {
  Tensor t(shape);
  for (Index i = 0; i < t.numel(); ++i) t.data()[i] = start + 0.1f * static_cast<float>(i);
  t.set_requires_grad(true);
  return t;
}

// Deterministic gradient depending on the step and the parameter, like a real loss.
void fake_backward(const NamedTensors& params, int step) {
  for (const auto& [n, p] : params) {
    Tensor g(p.shape());
    for (Index i = 0; i < g.numel(); ++i) g.data()[i] = p.data()[i] * 0.5f + 0.01f * static_cast<float>(step + i);
    p.zero_grad();
    p.accumulate_grad(g);
  }
}

NamedTensors make_params() { return {{"layer.weight", param({2, 3}, 1.0f)}, {"layer.bias", param({2}, -1.0f)}}; }

NamedTensors snapshot(const NamedTensors& state) {
  NamedTensors out;
  for (const auto& [n, t] : state) out.emplace_back(n, t.clone());
  return out;
}

std::vector<std::string> names(const NamedTensors& state) {
  std::vector<std::string> out;
  for (const auto& kv : state) out.push_back(kv.first);
  return out;
}

}  // namespace

TEST_CASE("optimizer state tensors are named <param>.<slot>") {
  auto p = make_params();
  CHECK(names(Adam(p).state_tensors()) == std::vector<std::string>{"layer.weight.exp_avg", "layer.weight.exp_avg_sq",
                                                                   "layer.bias.exp_avg", "layer.bias.exp_avg_sq"});
  CHECK(names(Adam(p, AdamOptions().amsgrad(true)).state_tensors()) ==
        std::vector<std::string>{"layer.weight.exp_avg", "layer.weight.exp_avg_sq", "layer.weight.max_exp_avg_sq",
                                 "layer.bias.exp_avg", "layer.bias.exp_avg_sq", "layer.bias.max_exp_avg_sq"});
  CHECK(names(SGD(p, SGDOptions().momentum(0.9f)).state_tensors()) ==
        std::vector<std::string>{"layer.weight.momentum_buffer", "layer.bias.momentum_buffer"});
  CHECK(SGD(p).state_tensors().empty());  // no momentum, no state
  CHECK(Adam(p).state_tensors()[0].second.shape() == Shape{2, 3});
}

TEST_CASE("state round trip: a restored optimizer continues bitwise like the original") {
  auto run = [](auto make_opt) {
    auto pa = make_params();
    auto a = make_opt(pa);
    for (int s = 0; s < 3; ++s) {
      fake_backward(pa, s);
      a->step();
    }
    // Restore into a fresh optimizer over a copy of the parameters.
    NamedTensors pb;
    for (const auto& [n, t] : pa) {
      Tensor c = t.clone();
      c.set_requires_grad(true);
      pb.emplace_back(n, c);
    }
    auto b = make_opt(pb);
    const NamedTensors saved = snapshot(a->state_tensors());
    b->load_state(saved, a->step_count());
    CHECK(b->step_count() == 3);
    for (int s = 3; s < 6; ++s) {
      fake_backward(pa, s);
      fake_backward(pb, s);
      a->step();
      b->step();
    }
    for (size_t k = 0; k < pa.size(); ++k) CHECK(pa[k].second.to_vector() == pb[k].second.to_vector());
  };
  SUBCASE("Adam amsgrad") {
    run([](NamedTensors p) { return std::make_unique<Adam>(p, AdamOptions().amsgrad(true).weight_decay(0.01f)); });
  }
  SUBCASE("AdamW") { run([](NamedTensors p) { return std::make_unique<AdamW>(p); }); }
  SUBCASE("SGD with dampened momentum") {
    // The restored buffers must count as started: a fresh buffer would be seeded with the
    // gradient instead of being dampened.
    run([](NamedTensors p) { return std::make_unique<SGD>(p, SGDOptions().momentum(0.9f).dampening(0.3f)); });
  }
}

TEST_CASE("load_state lists every problem in one exception and changes nothing") {
  auto p = make_params();
  Adam opt(p);
  fake_backward(p, 0);
  opt.step();
  const NamedTensors before = snapshot(opt.state_tensors());

  NamedTensors bad = snapshot(opt.state_tensors());
  bad.erase(bad.begin() + 1);                                       // missing layer.weight.exp_avg_sq
  bad[0].second = Tensor::zeros({3, 2});                            // mismatched layer.weight.exp_avg
  bad.emplace_back("layer.gamma.exp_avg", Tensor::zeros({2}));      // unexpected
  for (auto& kv : bad)
    if (kv.first == "layer.bias.exp_avg") kv.second.data()[0] = 123.0f;  // valid entry: must not be copied
  CHECK_THROWS_WITH_AS(opt.load_state(bad, 7),
                       "Adam: load_state: missing: layer.weight.exp_avg_sq; unexpected: layer.gamma.exp_avg; "
                       "shape mismatch: layer.weight.exp_avg expected [2, 3], got [3, 2]",
                       std::invalid_argument);
  const NamedTensors after = opt.state_tensors();
  for (size_t k = 0; k < before.size(); ++k) CHECK(after[k].second.to_vector() == before[k].second.to_vector());
  CHECK(opt.step_count() == 1);

  CHECK_THROWS_WITH_AS(opt.load_state(before, -1), "Adam: load_state: step count -1 < 0", std::invalid_argument);
  NamedTensors dup = before;
  dup.push_back(before[0]);
  CHECK_THROWS_WITH_AS(opt.load_state(dup, 1), "Adam: load_state: duplicated: layer.weight.exp_avg",
                       std::invalid_argument);
  SGD sgd(p, SGDOptions().momentum(0.5f));
  CHECK_THROWS_WITH_AS(sgd.load_state({}, 0),
                       "SGD: load_state: missing: layer.weight.momentum_buffer, layer.bias.momentum_buffer",
                       std::invalid_argument);
}
