#include "dlf_reference.h"

#include <algorithm>
#include <stdexcept>

#include "layers/cconv_reference.h"

namespace lagrad::dlf_ref {

namespace {

using Matrix = std::vector<double>;  // row-major [rows, cols]

Shape kernel_shape(const ModelConfig& m, Index in, Index out) {
  return {m.kernel_size[0], m.kernel_size[1], m.kernel_size[2], in, out};
}

Index fluid_in_channels(const ModelConfig& m) { return 4 + m.other_feats_channels; }
Index layer_in_channels(const ModelConfig& m, size_t k) {
  return m.layer_channels[k - 1] * (k == 1 ? 3 : 1);
}

// y[n, out] = x[n, in] W^T + b, W [out, in] as PyTorch's Linear stores it.
Matrix dense(const Weights& w, const std::string& name, const Matrix& x, Index n, Index in, Index out) {
  const auto& W = w.get(name + ".weight", {out, in}).values;
  const auto& b = w.get(name + ".bias", {out}).values;
  Matrix y(static_cast<size_t>(n * out));
  for (Index r = 0; r < n; ++r)
    for (Index o = 0; o < out; ++o) {
      double s = b[o];
      for (Index c = 0; c < in; ++c) s += x[r * in + c] * W[o * in + c];
      y[r * out + o] = s;
    }
  return y;
}

// The neighbor list of a DLF convolution: for each output point, the input points within
// radius (inclusive, sorted by index), minus those at exactly the output point; importances
// from the poly6 window on the squared distance over the squared radius.
struct Neighbors {
  IndexVector index, row_splits{0};
  std::vector<double> importance;
};

Neighbors search(const Matrix& inp, const Matrix& out, double radius, bool use_window) {
  const Index n_out = static_cast<Index>(out.size() / 3);
  const cconv_ref::NeighborList all =
      cconv_ref::brute_force_radius_search(inp, out, std::vector<double>(static_cast<size_t>(n_out), radius));
  Neighbors nb;
  for (Index j = 0; j < n_out; ++j) {
    for (Index e = all.row_splits[j]; e < all.row_splits[j + 1]; ++e) {
      const Index i = all.index[e];
      if (inp[3 * i] == out[3 * j] && inp[3 * i + 1] == out[3 * j + 1] && inp[3 * i + 2] == out[3 * j + 2])
        continue;  // the query point itself
      const double r = all.distance_sqr[e] / (radius * radius);
      const double a = use_window ? std::clamp((1.0 - r) * (1.0 - r) * (1.0 - r), 0.0, 1.0) : 1.0;
      nb.index.push_back(i);
      nb.importance.push_back(a);
    }
    nb.row_splits.push_back(static_cast<Index>(nb.index.size()));
  }
  return nb;
}

// A DLF convolution layer: features [N_inp, in] at inp -> [N_out, out] at out, bias added.
Matrix conv(const Weights& w, const std::string& name, const Matrix& features, Index in, Index out,
            const Matrix& inp, const Matrix& out_pos, const Neighbors& nb, const ModelConfig& m) {
  const Shape ks = kernel_shape(m, in, out);
  cconv_ref::Problem p;
  p.kd = ks[0];
  p.kh = ks[1];
  p.kw = ks[2];
  p.in_channels = in;
  p.out_channels = out;
  p.filters = w.get(name + ".kernel", ks).values;
  p.out_positions = out_pos;
  p.inp_positions = inp;
  p.extent_kind = cconv_ref::ExtentKind::Shared;
  p.extents = {filter_extent(m)};
  p.neighbors_index = nb.index;
  p.neighbors_row_splits = nb.row_splits;
  p.neighbors_importance = nb.importance;
  CConvOpOptions o;
  o.coordinate_mapping = parse_coordinate_mapping(m.coordinate_mapping);
  o.interpolation = parse_interpolation(m.interpolation);
  o.align_corners = true;
  o.normalize = false;
  Matrix y = cconv_ref::continuous_conv(p, features, o);
  const auto& b = w.get(name + ".bias", {out}).values;
  for (size_t r = 0; r < y.size() / static_cast<size_t>(out); ++r)
    for (Index c = 0; c < out; ++c) y[r * out + c] += b[c];
  return y;
}

Matrix relu(Matrix x) {
  for (double& v : x) v = std::max(v, 0.0);
  return x;
}

}  // namespace

const Weights::Entry& Weights::get(const std::string& name, const Shape& expected) const {
  const auto it = tensors.find(name);
  if (it == tensors.end()) throw std::invalid_argument("dlf_ref: missing tensor '" + name + "'");
  if (it->second.shape != expected)
    throw std::invalid_argument("dlf_ref: '" + name + "' expected " + shape_str(expected) + ", got " +
                                shape_str(it->second.shape));
  return it->second;
}

Weights weights_from(const NamedTensors& state) {
  Weights w;
  for (const auto& [name, t] : state) {
    const float* v = t.data();
    w.tensors[name] = {t.shape(), std::vector<double>(v, v + t.numel())};
  }
  return w;
}

Weights zero_weights(const ModelConfig& m) {
  Weights w;
  auto zeros = [&](const std::string& name, const Shape& s) {
    w.tensors[name] = {s, std::vector<double>(static_cast<size_t>(shape_numel(s)), 0.0)};
  };
  w.tensors["gravity"] = {{3}, {m.gravity[0], m.gravity[1], m.gravity[2]}};
  const auto& ch = m.layer_channels;
  auto conv_and_dense = [&](const std::string& conv_name, const std::string& dense_name, Index in, Index out) {
    zeros(conv_name + ".kernel", kernel_shape(m, in, out));
    zeros(conv_name + ".bias", {out});
    if (!dense_name.empty()) {
      zeros(dense_name + ".weight", {out, in});
      zeros(dense_name + ".bias", {out});
    }
  };
  conv_and_dense("conv0_fluid", "dense0_fluid", fluid_in_channels(m), ch[0]);
  conv_and_dense("conv0_obstacle", "", 3, ch[0]);
  for (size_t k = 1; k < ch.size(); ++k)
    conv_and_dense("conv" + std::to_string(k), "dense" + std::to_string(k), layer_in_channels(m, k), ch[k]);
  return w;
}

double filter_extent(const ModelConfig& m) {
  return static_cast<float>(static_cast<double>(m.radius_scale) * 6.0 * static_cast<double>(m.particle_radius));
}

Step step(const Weights& w, const Scene& s, const ModelConfig& m) {
  if (m.other_feats_channels != 0) throw std::invalid_argument("dlf_ref: other_feats are not supported");
  const Index n = s.num_fluid();
  const double dt = m.timestep;
  const auto& g = w.get("gravity", {3}).values;
  const auto& ch = m.layer_channels;
  Step r;
  r.pos2.resize(3 * n);
  r.vel2.resize(3 * n);
  for (Index i = 0; i < 3 * n; ++i) {
    r.vel2[i] = s.vel[i] + dt * g[i % 3];
    r.pos2[i] = s.pos[i] + dt * (s.vel[i] + r.vel2[i]) / 2.0;
  }

  const double radius = filter_extent(m) / 2.0;
  const Neighbors fluid_nb = search(r.pos2, r.pos2, radius, m.use_window);
  const Neighbors box_nb = search(s.box, r.pos2, radius, m.use_window);
  for (Index j = 0; j < n; ++j) r.num_fluid_neighbors.push_back(fluid_nb.row_splits[j + 1] - fluid_nb.row_splits[j]);

  const Index in0 = fluid_in_channels(m);
  Matrix feats(static_cast<size_t>(n * in0));
  for (Index i = 0; i < n; ++i) {
    feats[i * in0] = 1.0;
    for (int k = 0; k < 3; ++k) feats[i * in0 + 1 + k] = r.vel2[3 * i + k];
  }
  r.conv0_obstacle = conv(w, "conv0_obstacle", s.box_normals, 3, ch[0], s.box, r.pos2, box_nb, m);
  r.conv0_fluid = conv(w, "conv0_fluid", feats, in0, ch[0], r.pos2, r.pos2, fluid_nb, m);
  r.dense0_fluid = dense(w, "dense0_fluid", feats, n, in0, ch[0]);

  Matrix f0(static_cast<size_t>(n * 3 * ch[0]));
  for (Index i = 0; i < n; ++i)
    for (Index c = 0; c < ch[0]; ++c) {
      f0[i * 3 * ch[0] + c] = r.conv0_obstacle[i * ch[0] + c];
      f0[i * 3 * ch[0] + ch[0] + c] = r.conv0_fluid[i * ch[0] + c];
      f0[i * 3 * ch[0] + 2 * ch[0] + c] = r.dense0_fluid[i * ch[0] + c];
    }
  r.features.push_back(std::move(f0));
  for (size_t k = 1; k < ch.size(); ++k) {
    const Index in = layer_in_channels(m, k), out = ch[k];
    const Matrix x = relu(r.features.back());
    Matrix y = conv(w, "conv" + std::to_string(k), x, in, out, r.pos2, r.pos2, fluid_nb, m);
    const Matrix d = dense(w, "dense" + std::to_string(k), x, n, in, out);
    const bool residual = in == out;
    for (size_t i = 0; i < y.size(); ++i) y[i] += d[i] + (residual ? r.features.back()[i] : 0.0);
    r.features.push_back(std::move(y));
  }

  const Matrix& last = r.features.back();
  if (ch.back() != 3) throw std::invalid_argument("dlf_ref: the last layer must have 3 channels");
  r.correction.resize(3 * n);
  r.pos.resize(3 * n);
  r.vel.resize(3 * n);
  for (Index i = 0; i < 3 * n; ++i) {
    r.correction[i] = last[i] / 128.0;
    r.pos[i] = r.pos2[i] + r.correction[i];
    r.vel[i] = (r.pos[i] - s.pos[i]) / dt;
  }
  return r;
}

Scene advance(const Scene& scene, const Step& s) {
  Scene next = scene;
  next.pos = s.pos;
  next.vel = s.vel;
  return next;
}

}  // namespace lagrad::dlf_ref
