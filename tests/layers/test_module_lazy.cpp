// Lazy layers and the parameter lists that optimizers and checkpoints take: a model whose lazy
// layers have not built is an error to take parameters from, never a silently shorter list.
#include <doctest/doctest.h>

#include "layers/continuous_conv.h"
#include "layers/dense.h"
#include "layers/module.h"

using namespace lagrad;

namespace {
struct TwoLayer : Module {
  std::shared_ptr<Dense> known, lazy;
  std::shared_ptr<ContinuousConv> conv;
  explicit TwoLayer(bool conv_lazy) {
    known = register_module("dense1", std::make_shared<Dense>(DenseOptions(4).in_features(3)));
    lazy = register_module("dense2", std::make_shared<Dense>(DenseOptions(2)));
    ContinuousConvOptions o(2, {4, 4, 4});
    if (!conv_lazy) o.in_channels(2);
    conv = register_module("conv", std::make_shared<ContinuousConv>(o));
  }
};
}  // namespace

TEST_CASE("Module: unbuilt lazy layers are listed and refuse named_parameters() / parameters()") {
  TwoLayer m(/*conv_lazy=*/true);
  CHECK(m.unbuilt_modules() == std::vector<std::string>{"dense2", "conv"});
  CHECK_THROWS_WITH_AS(m.named_parameters(), doctest::Contains("'dense2', 'conv'"), std::logic_error);
  CHECK_THROWS_WITH_AS(m.parameters(), doctest::Contains("run one forward pass"), std::logic_error);
  // What needs no complete list still works on an unbuilt model.
  CHECK(m.num_parameter_values() == 4 * 3 + 4);
  m.zero_grad();
  m.lazy->build(4);
  m.conv->build(2);
  CHECK(m.unbuilt_modules().empty());
  const auto named = m.named_parameters();
  REQUIRE(named.size() == 6);
  CHECK(named[2].first == "dense2.weight");
  CHECK(named[4].first == "conv.kernel");
}

TEST_CASE("Module: parameters() iterates as tensors and keeps the dotted names") {
  TwoLayer m(/*conv_lazy=*/false);
  m.lazy->build(4);
  const ParameterList params = m.parameters();
  REQUIRE(params.size() == 6);
  Index total = 0;
  for (const Tensor& t : params) total += t.numel();
  CHECK(total == m.num_parameter_values());
  CHECK(params[0].same_as(m.known->weight()));
  const std::vector<std::pair<std::string, Tensor>> named = params;  // what optimizers take
  CHECK(named[0].first == "dense1.weight");
  CHECK(named[5].first == "conv.bias");
}
