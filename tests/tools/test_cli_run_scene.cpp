// `lagrad run --scene`: emitters add particles at their frames, particles that fall out of the
// scene are dropped, one PLY per frame.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fluids/ply_writer.h"

#include "cli_util.h"

using namespace lagrad;
using namespace lagrad::test;
namespace fs = std::filesystem;

namespace {

const std::string kWeights = LAGRAD_DATA_DIR "/dlf_pretrained/pretrained_model_weights.pt";

// The axis-aligned box [lo, hi] as a closed OBJ with outward faces.
void write_box_obj(const std::string& path, const float lo[3], const float hi[3]) {
  std::ofstream f(path);
  for (int i = 0; i < 8; ++i)
    f << "v " << (i & 1 ? hi[0] : lo[0]) << ' ' << (i & 2 ? hi[1] : lo[1]) << ' ' << (i & 4 ? hi[2] : lo[2]) << '\n';
  const int q[6][4] = {{1, 3, 4, 2}, {5, 6, 8, 7}, {1, 2, 6, 5}, {3, 7, 8, 4}, {1, 5, 7, 3}, {2, 4, 8, 6}};
  for (auto& r : q) f << "f " << r[0] << ' ' << r[1] << ' ' << r[2] << "\nf " << r[0] << ' ' << r[2] << ' ' << r[3] << '\n';
}

size_t ply_count(const std::string& path) {
  std::vector<float> pos;
  read_ply(path, pos);
  return pos.size() / 3;
}

}  // namespace

TEST_CASE("cli: run --scene with an emitter and particles falling off a plate") {
  TempDir dir("cli_run_scene");
  REQUIRE(run_tool(dir, "import " + quoted(kWeights) + " -o " + quoted(dir.file("model.lagrad"))).exit_code == 0);
  const float plate_lo[3] = {0.0f, 0.0f, 0.0f}, plate_hi[3] = {0.6f, 0.02f, 0.6f};
  const float cube_lo[3] = {0.0f, 0.0f, 0.0f}, cube_hi[3] = {0.15f, 0.15f, 0.15f};
  write_box_obj(dir.file("plate.obj"), plate_lo, plate_hi);
  write_box_obj(dir.file("cube.obj"), cube_lo, cube_hi);
  // Walls: a plate (min_y = its lowest point - 5% of its height). The first body sits beside
  // the plate and falls past it; the emitter adds a cube above the plate at frames 2 and 4.
  std::ofstream(dir.file("scene.json")) << R"({"walls": [{"path": "plate.obj", "invert_normals": true}],
    "fluids": [{"path": "cube.obj", "translation": [1.0, 0.1, 1.0]},
               {"path": "cube.obj", "translation": [0.25, 0.1, 0.25], "start": 2, "stop": 5, "step": 2}]})";
  const Run r = run_tool(dir, "run " + quoted(dir.file("model.lagrad")) + " --scene " + quoted(dir.file("scene.json")) +
                                  " -n 16 -o " + quoted(dir.file("out")));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const size_t body = ply_count(dir.file("out/fluid_0000.ply"));
  REQUIRE(body > 0);
  CHECK(ply_count(dir.file("out/fluid_0001.ply")) == body);
  const size_t emitted = ply_count(dir.file("out/fluid_0002.ply")) - body;
  CHECK(emitted == body);  // the same cube
  CHECK(ply_count(dir.file("out/fluid_0003.ply")) == body + emitted);
  CHECK(ply_count(dir.file("out/fluid_0004.ply")) == body + 2 * emitted);
  // After 16 steps (0.32 s) the first body has fallen ~0.5 m past the plate and is gone:
  // min_y = 0 - 5% of the plate's 0.02 m height.
  std::vector<float> last;
  read_ply(dir.file("out/fluid_0016.ply"), last);
  CHECK(last.size() / 3 < body + 2 * emitted);
  for (size_t i = 0; i < last.size(); i += 3) {
    CHECK(last[i + 1] >= -0.001f);
    CHECK(last[i] < 0.9f);  // nothing left of the body that started at x = 1
  }
  CHECK(contains(r.err, "fell out of the scene"));
  CHECK(fs::exists(dir.file("out/boundary.ply")));
}

TEST_CASE("cli: run --scene refuses the viscosity and density generate --scene refuses") {
  TempDir dir("cli_run_scene_bad");
  REQUIRE(run_tool(dir, "import " + quoted(kWeights) + " -o " + quoted(dir.file("model.lagrad"))).exit_code == 0);
  const float lo[3] = {0.0f, 0.0f, 0.0f}, hi[3] = {0.15f, 0.15f, 0.15f};
  write_box_obj(dir.file("cube.obj"), lo, hi);
  for (const std::string bad : {R"("viscosity": -1)", R"("density": 0)"}) {
    CAPTURE(bad);
    std::ofstream(dir.file("scene.json")) << R"({"fluids": [{"path": "cube.obj"}], )" << bad << "}";
    const Run run = run_tool(dir, "run " + quoted(dir.file("model.lagrad")) + " --scene " + quoted(dir.file("scene.json")) +
                                      " -n 1 -o " + quoted(dir.file("out")));
    check_one_error_line(run);
    CHECK(contains(run.err, "root." + bad.substr(1, bad.find('"', 1) - 1) + ": expected a number in"));
    CHECK_FALSE(fs::exists(dir.file("out")));
    const Run gen = run_tool(dir, "generate --scene " + quoted(dir.file("scene.json")) + " --frames 2 -o " +
                                      quoted(dir.file("gen")));
    check_one_error_line(gen);
    REQUIRE(gen.err.find("root.") != std::string::npos);
    REQUIRE(run.err.find("root.") != std::string::npos);
    CHECK(gen.err.substr(gen.err.find("root.")) == run.err.substr(run.err.find("root.")));
  }
}
