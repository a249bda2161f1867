#include "fluids/particle_network.h"

#include <stdexcept>
#include <string>

#include "core/ops.h"

namespace lagrad {

namespace {

ContinuousConvOptions conv_options(const ModelConfig& c, Index in_channels, Index filters) {
  return ContinuousConvOptions(filters, {c.kernel_size[0], c.kernel_size[1], c.kernel_size[2]})
      .in_channels(in_channels)
      .align_corners(true)
      .coordinate_mapping(c.coordinate_mapping)
      .interpolation(c.interpolation)
      .normalize(false)
      .window_function(c.use_window ? "poly6" : "")
      .radius_search_ignore_query_points(true);
}

void check_points(const char* name, const Tensor& t) {
  if (!t.defined() || t.rank() != 2 || t.dim(1) != 3)
    throw std::invalid_argument(std::string("ParticleNetwork: ") + name + " expected [n, 3], got " +
                                (t.defined() ? shape_str(t.shape()) : std::string("undefined")));
}

}  // namespace

ParticleNetwork::ParticleNetwork(const ModelConfig& config) : config_(config) {
  const auto& ch = config_.layer_channels;
  if (ch.size() < 2 || ch.back() != 3)
    throw std::invalid_argument("ParticleNetwork: layer_channels must have >= 2 entries and end in 3");
  const Index in0 = 4 + config_.other_feats_channels;
  register_buffer("gravity", Tensor::from_vector({3}, {config_.gravity[0], config_.gravity[1], config_.gravity[2]}));
  // Registration order follows the PyTorch state dict.
  conv0_fluid_ = register_module("conv0_fluid", std::make_shared<ContinuousConv>(conv_options(config_, in0, ch[0])));
  conv0_obstacle_ = register_module("conv0_obstacle", std::make_shared<ContinuousConv>(conv_options(config_, 3, ch[0])));
  dense0_fluid_ = register_module("dense0_fluid", std::make_shared<Dense>(DenseOptions(ch[0]).in_features(in0)));
  for (size_t i = 1; i < ch.size(); ++i) {
    const Index in_ch = i == 1 ? 3 * ch[0] : ch[i - 1];
    denses_.push_back(register_module("dense" + std::to_string(i),
                                      std::make_shared<Dense>(DenseOptions(ch[i]).in_features(in_ch))));
    convs_.push_back(register_module("conv" + std::to_string(i),
                                     std::make_shared<ContinuousConv>(conv_options(config_, in_ch, ch[i]))));
  }
}

ParticleStep ParticleNetwork::forward(const Tensor& pos, const Tensor& vel, const Tensor& box,
                                      const Tensor& box_normals, const Tensor& other_feats) {
  check_points("pos", pos);
  check_points("vel", vel);
  check_points("box", box);
  check_points("box_normals", box_normals);
  if (vel.dim(0) != pos.dim(0))
    throw std::invalid_argument("ParticleNetwork: vel has " + std::to_string(vel.dim(0)) + " rows, pos " +
                                std::to_string(pos.dim(0)));
  if (box_normals.dim(0) != box.dim(0))
    throw std::invalid_argument("ParticleNetwork: box_normals has " + std::to_string(box_normals.dim(0)) +
                                " rows, box " + std::to_string(box.dim(0)));
  if (config_.other_feats_channels > 0 &&
      (!other_feats.defined() || other_feats.shape() != Shape{pos.dim(0), config_.other_feats_channels}))
    throw std::invalid_argument("ParticleNetwork: other_feats expected [" + std::to_string(pos.dim(0)) + ", " +
                                std::to_string(config_.other_feats_channels) + "]");

  const float dt = config_.timestep;
  const Tensor& gravity = find("gravity");
  // Explicit integration with gravity.
  Tensor vel2 = add(vel, mul(gravity, dt));
  Tensor pos2 = add(pos, mul(mul(add(vel2, vel), dt), 0.5f));  // the original's order of operations

  // The convolutions see positions as constants unless position gradients are on (the
  // original's convolution op has no position gradient).
  const Tensor conv_pos = position_gradients_ ? pos2 : pos2.detach();
  const Tensor extent = Tensor::scalar(config_.filter_extent());

  std::vector<Tensor> feats{Tensor::ones({pos.dim(0), 1}), vel2};
  if (config_.other_feats_channels > 0) feats.push_back(other_feats);
  const Tensor fluid_feats = concat(feats, 1);

  ContinuousConvCall fluid_call;
  // Searched as the convolutions search (they refuse a list that does not match their call).
  fluid_call.neighbors = cconv_radius_search(conv_pos, conv_pos, extent, conv0_fluid_->metric(),
                                             conv0_fluid_->options().radius_search_ignore_query_points());
  const Tensor ans_conv0_fluid = conv0_fluid_->forward(fluid_feats, conv_pos, conv_pos, extent, fluid_call);
  const Tensor ans_dense0_fluid = dense0_fluid_->forward(fluid_feats);
  const Tensor ans_conv0_obstacle = conv0_obstacle_->forward(box_normals, box, conv_pos, extent);

  Tensor prev = concat({ans_conv0_obstacle, ans_conv0_fluid, ans_dense0_fluid}, 1);
  for (size_t k = 0; k < convs_.size(); ++k) {
    const Tensor inp = relu(prev);
    Tensor ans = add(convs_[k]->forward(inp, conv_pos, conv_pos, extent, fluid_call), denses_[k]->forward(inp));
    if (ans.dim(1) == prev.dim(1)) ans = add(ans, prev);
    prev = ans;
  }
  // Fluid neighbor counts (the loss weights particles by them).
  const NeighborList& nl = *fluid_call.neighbors;
  Tensor counts({pos.dim(0)});
  for (Index q = 0; q < pos.dim(0); ++q)
    counts.data()[q] = static_cast<float>(nl.row_splits[static_cast<size_t>(q + 1)] - nl.row_splits[static_cast<size_t>(q)]);

  const Tensor correction = mul(prev, 1.0f / 128.0f);
  ParticleStep out;
  out.pos = add(pos2, correction);
  out.vel = div(sub(out.pos, pos), Tensor::scalar(dt));
  out.num_fluid_neighbors = counts;
  return out;
}

}  // namespace lagrad
