#include "fluids/sph/boundary.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/neighbor_search.h"
#include "core/parallel.h"
#include "fluids/sph/sph_kernel.h"

namespace lagrad::sph {

void BoundaryParticles::append(const BoundaryParticles& other) {
  positions.insert(positions.end(), other.positions.begin(), other.positions.end());
  normals.insert(normals.end(), other.normals.begin(), other.normals.end());
}

void BoundaryParticles::translate(const Eigen::Vector3f& t) {
  for (size_t i = 0; i < positions.size(); i += 3)
    for (int c = 0; c < 3; ++c) positions[i + c] += t[c];
}

BoundaryParticles sample_box_surface(const Eigen::Vector3f& lo, const Eigen::Vector3f& hi,
                                     float spacing, bool inward, bool open_bottom) {
  if (!(spacing > 0.0f))
    throw std::invalid_argument("sample_box_surface: spacing must be positive, got " +
                                std::to_string(spacing));
  for (int c = 0; c < 3; ++c)
    if (!(hi[c] > lo[c]))
      throw std::invalid_argument("sample_box_surface: hi must exceed lo on every axis, axis " +
                                  std::to_string(c) + " has lo " + std::to_string(lo[c]) +
                                  " and hi " + std::to_string(hi[c]));
  int n[3];
  float step[3];
  for (int c = 0; c < 3; ++c) {
    n[c] = std::max(1, static_cast<int>(std::ceil((hi[c] - lo[c]) / spacing - 1e-4f)));
    step[c] = (hi[c] - lo[c]) / static_cast<float>(n[c]);
  }
  const float sign = inward ? 1.0f : -1.0f;
  BoundaryParticles out;
  for (int i = 0; i <= n[0]; ++i)
    for (int j = 0; j <= n[1]; ++j)
      for (int k = 0; k <= n[2]; ++k) {
        const int idx[3] = {i, j, k};
        Eigen::Vector3f normal = Eigen::Vector3f::Zero();
        bool on_surface = false, on_bottom = false, off_bottom_face = false;
        for (int c = 0; c < 3; ++c) {
          if (idx[c] == 0) normal[c] += sign, on_surface = true;
          if (idx[c] == n[c]) normal[c] -= sign, on_surface = true;
        }
        if (!on_surface) continue;
        if (open_bottom) {
          on_bottom = j == 0;
          // A point of the bottom face that lies on no other face is dropped; points on the
          // bottom edges of the side faces stay (they close the side walls).
          off_bottom_face = i == 0 || i == n[0] || k == 0 || k == n[2];
          if (on_bottom && !off_bottom_face) continue;
          if (on_bottom) normal[1] = 0.0f;
        }
        normal.normalize();
        for (int c = 0; c < 3; ++c) {
          out.positions.push_back(lo[c] + step[c] * static_cast<float>(idx[c]));
          out.normals.push_back(normal[c]);
        }
      }
  return out;
}

std::vector<float> boundary_volumes(const std::vector<float>& positions, float support) {
  const Index n = static_cast<Index>(positions.size() / 3);
  std::vector<float> volume(static_cast<size_t>(n));
  if (n == 0) return volume;
  RadiusSearchOptions opt;
  opt.metric = Metric::L2;
  const NeighborList nl = fixed_radius_search(positions.data(), n, positions.data(), n, support, opt);
  const CubicSplineKernel kernel(support);
  parallel_for(n, 1024, [&](Index b, Index e) {
    for (Index k = b; k < e; ++k) {
      float sum = 0.0f;  // includes k itself (distance 0)
      for (Index q = nl.row_splits[k]; q < nl.row_splits[k + 1]; ++q)
        sum += kernel.value(std::sqrt(nl.distances[q]));
      volume[k] = 1.0f / sum;
    }
  });
  return volume;
}

float default_boundary_spacing(float particle_radius) {
  return std::sqrt(3.14159265358979f / 1.9f) * particle_radius;
}

float fall_out_height(const std::vector<float>& wall_positions) {
  if (wall_positions.empty()) return -std::numeric_limits<float>::infinity();
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (size_t i = 1; i < wall_positions.size(); i += 3) {
    lo = std::min(lo, wall_positions[i]);
    hi = std::max(hi, wall_positions[i]);
  }
  return lo - 0.05f * (hi - lo);
}

}  // namespace lagrad::sph
