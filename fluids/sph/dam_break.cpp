#include "fluids/sph/dam_break.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace lagrad::sph {

void DamBreakOptions::validate() const {
  auto fail = [](const std::string& what, const std::string& got) {
    throw std::invalid_argument("DamBreakOptions: " + what + ", got " + got);
  };
  if (column_particles < 2) fail("column_particles must be >= 2", std::to_string(column_particles));
  if (height_particles < 0) fail("height_particles must be >= 0", std::to_string(height_particles));
  if (depth_particles < 1) fail("depth_particles must be >= 1", std::to_string(depth_particles));
  if (!(tank_length >= 2.0f)) fail("tank_length must be >= 2 (units of a)", std::to_string(tank_length));
  if (!(end_time > 0)) fail("end_time must be positive", std::to_string(end_time));
  if (!(sample_interval > 0)) fail("sample_interval must be positive", std::to_string(sample_interval));
  solver.validate();
}

std::vector<DamBreakSample> run_dam_break(const DamBreakOptions& o) {
  o.validate();
  const float r = o.solver.particle_radius, d = 2.0f * r;
  // Fluid particles start 2.4 r from the walls, where the boundary and fluid contributions
  // to the density add up to the rest density; the fluid's own surface is r further out.
  const float gap = 2.4f * r;
  const float x0 = gap - r;  // back wall of the fluid volume
  const float a = d * o.column_particles;
  const int ny = o.height_particles > 0 ? o.height_particles : o.column_particles;
  const float g = -o.solver.gravity[1];
  if (!(g > 0)) throw std::invalid_argument("run_dam_break: gravity must point down (-y)");
  const Eigen::Vector3f hi(x0 + o.tank_length * a + gap, 1.5f * d * ny + gap,
                           2.0f * gap + d * static_cast<float>(o.depth_particles - 1));
  DfsphSolver solver(o.solver, sample_box_surface(Eigen::Vector3f::Zero(), hi, default_boundary_spacing(r), true));
  std::vector<float> pos, vel;
  for (int i = 0; i < o.column_particles; ++i)
    for (int j = 0; j < ny; ++j)
      for (int k = 0; k < o.depth_particles; ++k) {
        pos.insert(pos.end(), {gap + d * i, gap + d * j, gap + d * k});
        vel.insert(vel.end(), {0.0f, 0.0f, 0.0f});
      }
  solver.add_fluid(pos, vel);

  const double time_scale = std::sqrt(2.0 * g / a);
  const double t_end = o.end_time / time_scale;
  std::vector<DamBreakSample> out;
  for (;;) {
    float front = -1e30f;
    const auto& p = solver.positions();
    for (Index i = 0; i < solver.num_particles(); ++i) front = std::max(front, p[3 * i]);
    const double t = solver.time();
    out.push_back({t, t * time_scale, (front + r - x0) / a});
    if (t >= t_end - 1e-9) break;
    solver.advance(std::min(o.sample_interval, t_end - t));
  }
  return out;
}

}  // namespace lagrad::sph
