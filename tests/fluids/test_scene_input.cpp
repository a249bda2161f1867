#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

#include "fluids/scene_input.h"

using namespace lagrad;
namespace fs = std::filesystem;

namespace {
// An axis-aligned cube [lo, hi]^3 as a closed OBJ with outward faces.
void write_cube_obj(const fs::path& p, float lo, float hi) {
  std::ofstream f(p);
  for (int i = 0; i < 8; ++i)
    f << "v " << (i & 1 ? hi : lo) << ' ' << (i & 2 ? hi : lo) << ' ' << (i & 4 ? hi : lo) << '\n';
  // Faces (1-based), counter-clockwise seen from outside.
  const int q[6][4] = {{1, 3, 4, 2}, {5, 6, 8, 7}, {1, 2, 6, 5}, {3, 7, 8, 4}, {1, 5, 7, 3}, {2, 4, 8, 6}};
  for (auto& r : q) f << "f " << r[0] << ' ' << r[1] << ' ' << r[2] << "\nf " << r[0] << ' ' << r[2] << ' ' << r[3] << '\n';
}
}  // namespace

TEST_CASE("scene JSON: fluid sampled inside its mesh, walls with unit normals") {
  const fs::path dir = fs::temp_directory_path() / ("lagrad_scene_input_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  write_cube_obj(dir / "box.obj", 0.0f, 1.0f);
  write_cube_obj(dir / "fluid.obj", 0.0f, 0.3f);
  std::ofstream(dir / "scene.json") << R"({"walls": [{"path": "box.obj", "translation": [0, 0, 0]}],
    "fluids": [{"path": "fluid.obj", "translation": [0.3, 0.3, 0.3], "velocity": [1, 0, 0], "start": 0, "stop": 1, "step": 1}]})";
  const InitialState s = initial_state_from_scene_json((dir / "scene.json").string());
  const size_t n = s.pos.size() / 3;
  CHECK(n >= 150);  // a 0.3 m cube at spacing 0.05 holds about 6^3 = 216 particles
  CHECK(n <= 400);
  for (size_t i = 0; i < n; ++i) {
    for (int a = 0; a < 3; ++a) {
      CHECK(s.pos[3 * i + a] >= 0.3f - 1e-4f);
      CHECK(s.pos[3 * i + a] <= 0.6f + 1e-4f);
    }
    CHECK(s.vel[3 * i] == 1.0f);
  }
  REQUIRE(s.box.size() == s.box_normals.size());
  CHECK(s.box.size() / 3 > 1000);
  for (size_t k = 0; k < s.box_normals.size() / 3; ++k) {
    const float* nrm = &s.box_normals[3 * k];
    CHECK(std::sqrt(nrm[0] * nrm[0] + nrm[1] * nrm[1] + nrm[2] * nrm[2]) == doctest::Approx(1.0f).epsilon(1e-4));
  }
  // The floor's normals point up, into the container.
  for (size_t k = 0; k < s.box.size() / 3; ++k)
    if (s.box[3 * k + 1] < 1e-4f && s.box[3 * k] > 0.1f && s.box[3 * k] < 0.9f && s.box[3 * k + 2] > 0.1f &&
        s.box[3 * k + 2] < 0.9f)
      CHECK(s.box_normals[3 * k + 1] > 0.99f);
  CHECK_THROWS_AS(initial_state_from_scene_json((dir / "missing.json").string()), std::runtime_error);
  fs::remove_all(dir);
}
