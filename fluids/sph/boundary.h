#pragma once
// Static boundaries as particles (Akinci et al. 2012, "Versatile rigid-fluid coupling for
// incompressible SPH"): walls and obstacles are sampled with one layer of particles, each with
// a unit normal pointing into the fluid domain (the `box` / `box_normals` of the DLF data).
//
// A boundary particle k contributes like a fluid particle of volume V_k = 1 / sum_l W(x_k - x_l)
// (sum over boundary particles, k included): Akinci's pseudo-mass psi_k = rho0 * V_k, which
// makes densely sampled regions count as much as sparse ones.
#include <Eigen/Core>
#include <vector>

#include "../../core/shape.h"

namespace lagrad::sph {

struct BoundaryParticles {
  std::vector<float> positions;  // [k, 3]
  std::vector<float> normals;    // [k, 3], unit, into the fluid

  Index size() const { return static_cast<Index>(positions.size() / 3); }
  bool empty() const { return positions.empty(); }
  void append(const BoundaryParticles& other);
  void translate(const Eigen::Vector3f& t);
};

// The surface of the axis-aligned box [lo, hi] on a regular grid with spacing close to
// `spacing` (each edge split evenly), every grid point once. Normals point into the box when
// `inward` (a container), out of it otherwise (an obstacle); edge and corner points get the
// normalized sum of their faces' normals. With `open_bottom` the face y = lo.y is left out
// (an obstacle standing on the floor).
BoundaryParticles sample_box_surface(const Eigen::Vector3f& lo, const Eigen::Vector3f& hi,
                                     float spacing, bool inward, bool open_bottom = false);

// Akinci volumes V_k = 1 / sum_l W(|x_k - x_l|) over the boundary particles within `support`,
// for the cubic spline kernel with that support. Uses lagrad's neighbor search.
std::vector<float> boundary_volumes(const std::vector<float>& positions, float support);

// The surface sample spacing DLF's data has: 1.9 points per pi r^2 of area (their Poisson-disk
// count), i.e. sqrt(pi / 1.9) * r, about 0.032 for r = 0.025.
float default_boundary_spacing(float particle_radius);

// The height below which particles have left the scene for good, as DLF's run script drops
// them: the walls' lowest point minus 5% of their height; -infinity without walls.
float fall_out_height(const std::vector<float>& wall_positions);

}  // namespace lagrad::sph
