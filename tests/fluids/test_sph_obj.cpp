// OBJ meshes to particles: volume sampling by ray parity, Poisson-disk surface sampling.
#include <doctest/doctest.h>

#include <cmath>

#include "fluids/sph/obj_sampling.h"

using namespace lagrad::sph;

namespace {

// The unit cube [0,1]^3 with outward faces (counter-clockwise seen from outside), as quads.
const char* kCubeObj = R"(# unit cube
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 0 0 1
v 1 0 1
v 1 1 1
v 0 1 1
f 1 4 3 2
f 5 6 7 8
f 1 2 6 5
f 4 8 7 3
f 1 5 8 4
f 2 3 7 6
)";

// An octahedron |x| + |y| + |z| <= 1: volume 4/3.
const char* kOctahedronObj = R"(v 1 0 0
v -1 0 0
v 0 1 0
v 0 -1 0
v 0 0 1
v 0 0 -1
f 1 3 5
f 3 2 5
f 2 4 5
f 4 1 5
f 3 1 6
f 2 3 6
f 4 2 6
f 1 4 6
)";

}  // namespace

TEST_CASE("sph obj: parsing, area and signed volume") {
  const TriangleMesh cube = parse_obj(kCubeObj, "cube.obj");
  CHECK(cube.num_triangles() == 12);
  CHECK(cube.area() == doctest::Approx(6.0f));
  CHECK(cube.volume() == doctest::Approx(1.0f));
  const TriangleMesh oct = parse_obj(kOctahedronObj, "oct.obj");
  CHECK(oct.volume() == doctest::Approx(4.0f / 3.0f));
  CHECK_THROWS_WITH_AS(parse_obj("v 0 0 0\n", "empty.obj"), "OBJ 'empty.obj': no triangles", std::runtime_error);
  CHECK_THROWS_AS(load_obj("/nonexistent/mesh.obj"), std::runtime_error);
}

TEST_CASE("sph obj: volume sampling fills a closed mesh on the grid, nothing outside") {
  TriangleMesh cube = parse_obj(kCubeObj, "cube.obj");
  // Exactly 10^3 cell centers in the unit cube at spacing 0.1. The quads are split along the
  // diagonals y = z (x faces) etc., which the rays with j == k run exactly through: the
  // crossing must still count once.
  const auto p = sample_volume(cube, 0.1f);
  REQUIRE(p.size() == 3 * 1000);
  for (float x : p) CHECK((x > 0.0f && x < 1.0f));
  CHECK(p[0] == doctest::Approx(0.05f));

  // The octahedron: slanted faces; every point inside, count close to volume / spacing^3.
  TriangleMesh oct = parse_obj(kOctahedronObj, "oct.obj");
  const float s = 0.05f;
  const auto q = sample_volume(oct, s);
  const double expected = (4.0 / 3.0) / (s * s * s);
  CHECK(std::abs(q.size() / 3.0 - expected) / expected < 0.05);
  for (size_t i = 0; i < q.size(); i += 3) CHECK(std::abs(q[i]) + std::abs(q[i + 1]) + std::abs(q[i + 2]) < 1.0f);
  // Symmetric under x -> -x, as the shape is.
  double mean_x = 0;
  for (size_t i = 0; i < q.size(); i += 3) mean_x += q[i];
  CHECK(std::abs(mean_x / (q.size() / 3)) < 1e-4);
}

TEST_CASE("sph obj: surface sampling density, normals and determinism") {
  TriangleMesh cube = parse_obj(kCubeObj, "cube.obj");
  const float r = 0.025f;
  const BoundaryParticles b = sample_surface(cube, r, 7, /*invert_normals=*/false);
  const double expected = 1.9 * 6.0 / (M_PI * r * r);
  CHECK(std::abs(b.size() - expected) / expected < 0.02);
  for (lagrad::Index i = 0; i < b.size(); ++i) {
    const Eigen::Vector3f p(b.positions[3 * i], b.positions[3 * i + 1], b.positions[3 * i + 2]);
    const Eigen::Vector3f n(b.normals[3 * i], b.normals[3 * i + 1], b.normals[3 * i + 2]);
    // On the surface (one coordinate at 0 or 1), normal unit and into the cube.
    const float dist = std::min({p.minCoeff(), 1.0f - p.maxCoeff()});
    CHECK(std::abs(dist) < 1e-5f);
    CHECK(n.norm() == doctest::Approx(1.0f));
    CHECK(n.dot(Eigen::Vector3f(0.5f, 0.5f, 0.5f) - p) > 0.0f);
  }
  const BoundaryParticles again = sample_surface(cube, r, 7, false);
  CHECK(again.positions == b.positions);
  const BoundaryParticles inverted = sample_surface(cube, r, 7, true);
  REQUIRE(inverted.normals.size() == b.normals.size());
  for (size_t i = 0; i < b.normals.size(); ++i) CHECK(inverted.normals[i] == -b.normals[i]);
}
