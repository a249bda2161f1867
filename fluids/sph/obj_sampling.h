#pragma once
// Triangle meshes from Wavefront OBJ files, turned into particles: fluid volumes on a regular
// grid inside closed meshes, walls and obstacles as surface particles with normals.
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "../../core/shape.h"
#include "boundary.h"

namespace lagrad::sph {

// Limits on what a mesh may ask for (docs/user_guide.md, "Limits"): a typo in a scene file (a
// 20 m fluid cube, a coordinate of 1e31) fails at once instead of hanging or exhausting memory.
constexpr float kMaxCoordinate = 1e6f;                     // |x| of any OBJ vertex, in metres
constexpr std::int64_t kMaxGridPoints = std::int64_t{1} << 24;     // sample_volume's grid
constexpr std::int64_t kMaxSurfaceParticles = std::int64_t{1} << 20;  // sample_surface's target

struct TriangleMesh {
  std::vector<float> vertices;  // [v, 3]
  std::vector<int> triangles;   // [t, 3] vertex indices; the face normal is (b - a) x (c - a)

  Index num_vertices() const { return static_cast<Index>(vertices.size() / 3); }
  Index num_triangles() const { return static_cast<Index>(triangles.size() / 3); }
  float area() const;
  // Signed enclosed volume (divergence theorem): positive for a closed mesh whose face
  // normals point outwards.
  float volume() const;
  void bounds(Eigen::Vector3f& lo, Eigen::Vector3f& hi) const;
  // x -> scale * x + t
  void transform(float scale, const Eigen::Vector3f& t);
};

// Reads all shapes of an OBJ file into one mesh (polygons are triangulated). Throws
// std::runtime_error naming the file if it cannot be read or holds no triangles.
TriangleMesh load_obj(const std::string& path);
// The same from OBJ text; `name` stands for the file in error messages.
TriangleMesh parse_obj(const std::string& text, const std::string& name);

// Points of a grid with the given spacing that lie inside the closed mesh, centred in the
// mesh's bounding box ([n, 3], in x-major order). Inside is decided by ray parity along +x
// (the ray is nudged off the grid by a tiny fixed offset so that it misses edges and
// vertices of meshes built on the same grid).
std::vector<float> sample_volume(const TriangleMesh& mesh, float spacing);

// Surface particles about as dense as DLF's (1.9 points per pi r^2 of area): random points
// thinned to a Poisson-disk set, deterministic for a seed. Normals follow DLF's convention:
// against the face normal, i.e. into a closed mesh whose faces point outwards (a container);
// `invert_normals` flips them (an obstacle the fluid flows around).
BoundaryParticles sample_surface(const TriangleMesh& mesh, float particle_radius,
                                 std::uint64_t seed, bool invert_normals);

}  // namespace lagrad::sph
