#include "fluids/sph/scene.h"

#include <Eigen/Geometry>
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/neighbor_search.h"
#include "core/random.h"
#include "fluids/sph/obj_sampling.h"

namespace lagrad::sph {

void SceneSetup::emitted_at(int frame, std::vector<float>& positions, std::vector<float>& velocities) const {
  for (const auto& f : fluids)
    if (f.emits_at(frame)) {
      positions.insert(positions.end(), f.positions.begin(), f.positions.end());
      velocities.insert(velocities.end(), f.velocities.begin(), f.velocities.end());
    }
}

void SceneSetup::validate() const {
  if (walls.positions.size() % 3 != 0 || walls.positions.size() != walls.normals.size())
    throw std::invalid_argument("SceneSetup: walls expected positions and normals [k, 3], got " +
                                std::to_string(walls.positions.size()) + " and " +
                                std::to_string(walls.normals.size()) + " floats");
  for (size_t i = 0; i < fluids.size(); ++i) {
    const auto& f = fluids[i];
    const std::string name = "SceneSetup: fluid " + std::to_string(i);
    if (f.positions.size() % 3 != 0 || f.positions.size() != f.velocities.size())
      throw std::invalid_argument(name + ": positions and velocities expected [n, 3] each, got " +
                                  std::to_string(f.positions.size()) + " and " +
                                  std::to_string(f.velocities.size()) + " floats");
    if (f.start < 0 || f.step < 1 || f.stop < f.start)
      throw std::invalid_argument(name + ": expected 0 <= start <= stop and step >= 1, got start " +
                                  std::to_string(f.start) + ", stop " + std::to_string(f.stop) +
                                  ", step " + std::to_string(f.step));
  }
  if (!(viscosity >= 0.0f))
    throw std::invalid_argument("SceneSetup: viscosity must be >= 0, got " + std::to_string(viscosity));
  if (!(density > 0.0f))
    throw std::invalid_argument("SceneSetup: density must be positive, got " + std::to_string(density));
}

void RandomSceneOptions::validate() const {
  auto fail = [](const std::string& what, const std::string& got) {
    throw std::invalid_argument("RandomSceneOptions: " + what + ", got " + got);
  };
  if (!(particle_radius > 0.0f)) fail("particle_radius must be positive", std::to_string(particle_radius));
  if (min_particles < 1) fail("min_particles must be >= 1", std::to_string(min_particles));
  if (max_particles < min_particles)
    fail("max_particles must be >= min_particles (" + std::to_string(min_particles) + ")",
         std::to_string(max_particles));
  if (max_bodies < 1 || max_bodies > 16) fail("max_bodies must be in [1, 16]", std::to_string(max_bodies));
  if (max_obstacles < 0 || max_obstacles > 16)
    fail("max_obstacles must be in [0, 16]", std::to_string(max_obstacles));
  if (!(max_speed_xz >= 0.0f) || !(max_speed_y >= 0.0f))
    fail("max_speed_xz and max_speed_y must be >= 0",
         std::to_string(max_speed_xz) + " and " + std::to_string(max_speed_y));
}

namespace {

using Vec3 = Eigen::Vector3f;

struct Box {
  Vec3 lo, hi;
};

Box bounds_of(const std::vector<float>& p) {
  Box b{Vec3::Constant(1e30f), Vec3::Constant(-1e30f)};
  for (size_t i = 0; i < p.size(); i += 3)
    for (int c = 0; c < 3; ++c) {
      b.lo[c] = std::min(b.lo[c], p[i + c]);
      b.hi[c] = std::max(b.hi[c], p[i + c]);
    }
  return b;
}

// Uniform random rotation: a normalized 4-D Gaussian is a uniform unit quaternion.
Eigen::Matrix3f random_rotation(Rng& rng) {
  Eigen::Quaternionf q(rng.normal(), rng.normal(), rng.normal(), rng.normal());
  q.normalize();
  return q.toRotationMatrix();
}

// Rotates points about their centroid, then moves the centroid to the origin.
void rotate_centered(std::vector<float>& p, const Eigen::Matrix3f& R) {
  const Index n = static_cast<Index>(p.size() / 3);
  Eigen::Vector3d c = Eigen::Vector3d::Zero();
  for (Index i = 0; i < n; ++i) c += Eigen::Vector3d(p[3 * i], p[3 * i + 1], p[3 * i + 2]);
  const Vec3 center = (c / std::max<Index>(n, 1)).cast<float>();
  for (Index i = 0; i < n; ++i) {
    const Vec3 x = R * (Vec3(p[3 * i], p[3 * i + 1], p[3 * i + 2]) - center);
    for (int k = 0; k < 3; ++k) p[3 * i + k] = x[k];
  }
}

// A fluid body of about `count` particles on the lattice of spacing d, centred at the origin.
std::vector<float> make_body(int shape, double count, float d, const std::vector<TriangleMesh>& meshes, Rng& rng) {
  const double volume = count * double(d) * d * d;
  std::vector<float> p;
  if (shape == 0) {  // box with random aspect ratios
    const double a[3] = {rng.uniform(0.5f, 2.0f), rng.uniform(0.5f, 2.0f), rng.uniform(0.5f, 2.0f)};
    const double s = std::cbrt(volume / (a[0] * a[1] * a[2]));
    int n[3];
    for (int c = 0; c < 3; ++c) n[c] = std::max(1, static_cast<int>(std::lround(s * a[c] / d)));
    for (int i = 0; i < n[0]; ++i)
      for (int j = 0; j < n[1]; ++j)
        for (int k = 0; k < n[2]; ++k) {
          p.push_back(d * i);
          p.push_back(d * j);
          p.push_back(d * k);
        }
  } else if (shape == 1) {  // sphere
    const double r = std::cbrt(3.0 * volume / (4.0 * 3.14159265358979));
    const int m = static_cast<int>(std::ceil(r / d));
    for (int i = -m; i <= m; ++i)
      for (int j = -m; j <= m; ++j)
        for (int k = -m; k <= m; ++k)
          if (double(i * i + j * j + k * k) * d * d <= r * r) {
            p.push_back(d * i);
            p.push_back(d * j);
            p.push_back(d * k);
          }
  } else {  // a closed OBJ mesh scaled to the wanted volume
    TriangleMesh mesh = meshes[rng.below(meshes.size())];
    const double v = std::abs(mesh.volume());
    if (!(v > 0)) throw std::runtime_error("random scene: a fluid OBJ mesh encloses no volume");
    mesh.transform(static_cast<float>(std::cbrt(volume / v)), Vec3::Zero());
    p = sample_volume(mesh, d);
  }
  return p;
}

bool any_within(const std::vector<float>& points, const std::vector<float>& queries, float radius) {
  if (points.empty() || queries.empty()) return false;
  RadiusSearchOptions opt;
  opt.return_distances = false;
  const NeighborList nl = fixed_radius_search(points.data(), static_cast<Index>(points.size() / 3),
                                              queries.data(), static_cast<Index>(queries.size() / 3),
                                              radius, opt);
  return nl.num_neighbors() > 0;
}

bool inside_any(const std::vector<float>& p, const std::vector<Box>& boxes) {
  for (size_t i = 0; i < p.size(); i += 3)
    for (const Box& b : boxes)
      if (p[i] > b.lo[0] && p[i] < b.hi[0] && p[i + 1] > b.lo[1] && p[i + 1] < b.hi[1] &&
          p[i + 2] > b.lo[2] && p[i + 2] < b.hi[2])
        return true;
  return false;
}

// One try at a scene; returns false when the bodies could not be placed within the particle
// range (the caller draws again).
bool try_scene(const RandomSceneOptions& o, const std::vector<TriangleMesh>& fluid_meshes,
               const std::vector<TriangleMesh>& obstacle_meshes, Rng& rng, SceneSetup& scene) {
  const float r = o.particle_radius, d = 2.0f * r;
  const float wall_gap = 2.4f * r;  // where Akinci walls and fluid balance at rest density
  // 3% headroom: lattice bodies come out a little smaller or larger than asked, and an excess
  // is trimmed below.
  const double n_target = 1.03 * (o.min_particles + rng.uniform() * double(o.max_particles - o.min_particles));

  // Container sized so that the fluid fills roughly a quarter to a tenth of it.
  const float s = std::max(1.0f, static_cast<float>(std::cbrt(n_target * d * d * d / 0.5)));
  const Vec3 hi(rng.uniform(1.5f, 2.5f) * s, rng.uniform(1.5f, 3.0f) * s, rng.uniform(1.5f, 2.5f) * s);
  const float spacing = default_boundary_spacing(r);
  scene = SceneSetup{};
  scene.walls = sample_box_surface(Vec3::Zero(), hi, spacing, /*inward=*/true);

  // Obstacles standing on the floor.
  std::vector<Box> obstacle_boxes;
  const int num_obstacles = static_cast<int>(rng.below(static_cast<std::uint64_t>(o.max_obstacles) + 1));
  for (int k = 0; k < num_obstacles; ++k) {
    const float size_xz = std::min(hi[0], hi[2]);
    if (!obstacle_meshes.empty()) {
      TriangleMesh mesh = obstacle_meshes[rng.below(obstacle_meshes.size())];
      Vec3 lo_m, hi_m;
      mesh.bounds(lo_m, hi_m);
      const float extent = (hi_m - lo_m).maxCoeff();
      const float scale = rng.uniform(0.2f, 0.4f) * size_xz / extent;
      const float yaw = rng.uniform(0.0f, 6.2831853f);
      const Eigen::Matrix3f R = Eigen::AngleAxisf(yaw, Vec3::UnitY()).toRotationMatrix();
      for (size_t i = 0; i < mesh.vertices.size(); i += 3) {
        const Vec3 x = R * (scale * Vec3(mesh.vertices[i], mesh.vertices[i + 1], mesh.vertices[i + 2]));
        for (int c = 0; c < 3; ++c) mesh.vertices[i + c] = x[c];
      }
      mesh.bounds(lo_m, hi_m);
      const Vec3 t(rng.uniform(0.15f * hi[0] - lo_m[0], 0.85f * hi[0] - hi_m[0]), -lo_m[1],
                   rng.uniform(0.15f * hi[2] - lo_m[2], 0.85f * hi[2] - hi_m[2]));
      mesh.transform(1.0f, t);
      scene.walls.append(sample_surface(mesh, r, rng.next_u64(), /*invert_normals=*/true));
      mesh.bounds(lo_m, hi_m);
      obstacle_boxes.push_back({lo_m, hi_m});
    } else {
      const Vec3 size(rng.uniform(0.15f, 0.35f) * hi[0], rng.uniform(0.1f, 0.35f) * hi[1],
                      rng.uniform(0.15f, 0.35f) * hi[2]);
      const Vec3 lo_b(rng.uniform(0.1f * hi[0], 0.9f * hi[0] - size[0]), 0.0f,
                      rng.uniform(0.1f * hi[2], 0.9f * hi[2] - size[2]));
      scene.walls.append(sample_box_surface(lo_b, lo_b + size, spacing, /*inward=*/false, /*open_bottom=*/true));
      obstacle_boxes.push_back({lo_b, lo_b + size});
    }
  }

  // Fluid bodies.
  const int num_bodies = 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(o.max_bodies)));
  std::vector<double> share(num_bodies);
  double total_share = 0;
  for (auto& w : share) total_share += w = rng.uniform(0.5f, 1.5f);
  const int num_shapes = fluid_meshes.empty() ? 2 : 3;
  std::vector<float> fluid_points;
  Index total = 0;
  for (int b = 0; b < num_bodies; ++b) {
    double count = n_target * share[b] / total_share;
    const int shape = static_cast<int>(rng.below(num_shapes));
    bool placed = false;
    std::vector<float> body;
    for (int shrink = 0; shrink < 6 && !placed; ++shrink, count *= 0.8) {
      body = make_body(shape, count, d, fluid_meshes, rng);
      if (body.empty()) continue;
      rotate_centered(body, random_rotation(rng));
      const Box bb = bounds_of(body);
      Vec3 lo_t, hi_t;
      bool fits = true;
      for (int c = 0; c < 3; ++c) {
        lo_t[c] = wall_gap - bb.lo[c];
        hi_t[c] = hi[c] - wall_gap - bb.hi[c];
        fits &= hi_t[c] >= lo_t[c];
      }
      if (!fits) continue;
      for (int attempt = 0; attempt < 30 && !placed; ++attempt) {
        std::vector<float> moved = body;
        const Vec3 t(rng.uniform(lo_t[0], hi_t[0]), rng.uniform(lo_t[1], hi_t[1]), rng.uniform(lo_t[2], hi_t[2]));
        for (size_t i = 0; i < moved.size(); i += 3)
          for (int c = 0; c < 3; ++c) moved[i + c] += t[c];
        if (inside_any(moved, obstacle_boxes) || any_within(scene.walls.positions, moved, wall_gap) ||
            any_within(fluid_points, moved, 2.0f * d))
          continue;
        body.swap(moved);
        placed = true;
      }
    }
    if (!placed) return false;
    FluidSource src;
    src.positions = body;
    const float v[3] = {rng.uniform(-o.max_speed_xz, o.max_speed_xz), rng.uniform(-o.max_speed_y, o.max_speed_y),
                        rng.uniform(-o.max_speed_xz, o.max_speed_xz)};
    src.velocities.resize(body.size());
    for (size_t i = 0; i < body.size(); ++i) src.velocities[i] = v[i % 3];
    fluid_points.insert(fluid_points.end(), body.begin(), body.end());
    total += src.size();
    scene.fluids.push_back(std::move(src));
  }
  if (total < o.min_particles) return false;
  // Over the limit: drop particles from the end of the last bodies (as DLF's tool does).
  for (Index excess = total - o.max_particles; excess > 0 && !scene.fluids.empty();) {
    FluidSource& f = scene.fluids.back();
    const Index cut = std::min(excess, f.size());
    f.positions.resize(3 * static_cast<size_t>(f.size() - cut));
    f.velocities.resize(f.positions.size());
    excess -= cut;
    if (f.size() == 0) scene.fluids.pop_back();
  }
  // Per-scene fluid parameters, DLF's default distributions.
  scene.viscosity = 0.01f + static_cast<float>(-std::log(1.0 - rng.uniform()) / 20.0);
  scene.density = rng.uniform(500.0f, 2000.0f);
  return true;
}

}  // namespace

SceneSetup sample_random_scene(const RandomSceneOptions& options, std::uint64_t seed) {
  options.validate();
  std::vector<TriangleMesh> fluid_meshes, obstacle_meshes;
  for (const auto& p : options.fluid_objs) fluid_meshes.push_back(load_obj(p));
  for (const auto& p : options.obstacle_objs) obstacle_meshes.push_back(load_obj(p));
  Rng rng(seed);
  SceneSetup scene;
  for (int attempt = 0; attempt < 100; ++attempt)
    if (try_scene(options, fluid_meshes, obstacle_meshes, rng, scene)) return scene;
  throw std::runtime_error("sample_random_scene: could not place " + std::to_string(options.min_particles) +
                           ".." + std::to_string(options.max_particles) +
                           " fluid particles in 100 tries (seed " + std::to_string(seed) + ")");
}

}  // namespace lagrad::sph
