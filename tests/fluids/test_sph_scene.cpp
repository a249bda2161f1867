// Scenes: DLF scene JSON input, random scene sampling, and the dataset generator's output.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/parallel.h"
#include "fluids/dataset_file.h"
#include "fluids/sph/data_generator.h"
#include "fluids/sph/scene_json.h"

using namespace lagrad::sph;
using lagrad::Index;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system temp dir, removed at the end of the test.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag) {
    path = fs::temp_directory_path() / ("lagrad_test_sph_" + tag + "_" + std::to_string(getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

// An axis-aligned box [lo, hi] as an OBJ with outward faces.
std::string box_obj(const Eigen::Vector3f& lo, const Eigen::Vector3f& hi) {
  std::string s;
  for (int i = 0; i < 8; ++i)
    s += "v " + std::to_string(i & 1 ? hi[0] : lo[0]) + " " + std::to_string(i & 2 ? hi[1] : lo[1]) + " " +
         std::to_string(i & 4 ? hi[2] : lo[2]) + "\n";
  // Vertex k+1 has bits (x, y, z) = (k&1, k&2, k&4).
  s += "f 1 3 4 2\nf 5 6 8 7\nf 1 2 6 5\nf 3 7 8 4\nf 1 5 7 3\nf 2 4 8 6\n";
  return s;
}

}  // namespace

TEST_CASE("sph scene json: walls, fluids, emitters, translation and velocity") {
  TempDir dir("json");
  dir.write("Box.obj", box_obj(Eigen::Vector3f(-1, 0, -1), Eigen::Vector3f(1, 2, 1)));
  dir.write("Fluid.obj", box_obj(Eigen::Vector3f(0, 0, 0), Eigen::Vector3f(0.4f, 0.4f, 0.4f)));
  const std::string path = dir.write("scene.json", R"({
    "walls": [{"path": "Box.obj", "translation": [0, 0, 0]}],
    "fluids": [{"path": "Fluid.obj", "velocity": [0.3, 0, 0.2], "translation": [-0.2, 1, -0.2],
                "start": 0, "stop": 1, "step": 1},
               {"path": "Fluid.obj", "translation": [0, 0.5, 0], "start": 2, "stop": 10, "step": 4}],
    "viscosity": 0.05
  })");
  const SceneSetup scene = load_scene_json(path);
  // Walls: DLF's surface density, normals into the container.
  const double expected = 1.9 * 24.0 / (M_PI * 0.025 * 0.025);  // area 24
  CHECK(std::abs(scene.walls.size() - expected) / expected < 0.02);
  for (Index i = 0; i < scene.walls.size(); i += 97) {
    const Eigen::Vector3f p(scene.walls.positions[3 * i], scene.walls.positions[3 * i + 1], scene.walls.positions[3 * i + 2]);
    const Eigen::Vector3f n(scene.walls.normals[3 * i], scene.walls.normals[3 * i + 1], scene.walls.normals[3 * i + 2]);
    CHECK(n.dot(Eigen::Vector3f(0, 1, 0) - p) > 0.0f);
  }
  REQUIRE(scene.fluids.size() == 2);
  const FluidSource& f = scene.fluids[0];
  CHECK(f.size() == 8 * 8 * 8);
  for (Index i = 0; i < f.size(); ++i) {
    CHECK(f.positions[3 * i + 1] > 1.0f);
    CHECK(f.positions[3 * i + 1] < 1.4f);
    CHECK(f.velocities[3 * i] == doctest::Approx(0.3f));
    CHECK(f.velocities[3 * i + 2] == doctest::Approx(0.2f));
  }
  CHECK(scene.viscosity == doctest::Approx(0.05f));
  // The emitter adds its particles at frames 2 and 6 only.
  for (int frame = 0; frame < 12; ++frame) {
    std::vector<float> pos, vel;
    scene.emitted_at(frame, pos, vel);
    const size_t n = (frame == 0 ? 512 : 0) + (frame == 2 || frame == 6 ? 512 : 0);
    CHECK(pos.size() == 3 * n);
  }
}

TEST_CASE("sph scene json: invert_normals and error messages") {
  TempDir dir("json_err");
  dir.write("Box.obj", box_obj(Eigen::Vector3f(0, 0, 0), Eigen::Vector3f(1, 1, 1)));
  const std::string inv = dir.write("inv.json", R"({"walls": [{"path": "Box.obj", "invert_normals": true}],
                                                    "fluids": [{"path": "Box.obj"}]})");
  const SceneSetup s = load_scene_json(inv);
  const Eigen::Vector3f p(s.walls.positions[0], s.walls.positions[1], s.walls.positions[2]);
  const Eigen::Vector3f n(s.walls.normals[0], s.walls.normals[1], s.walls.normals[2]);
  CHECK(n.dot(Eigen::Vector3f(0.5f, 0.5f, 0.5f) - p) < 0.0f);  // out of the mesh: an obstacle
  CHECK(s.fluids[0].size() == 20 * 20 * 20);

  const std::string no_path = dir.write("a.json", R"({"fluids": [{"translation": [0, 0, 0]}]})");
  CHECK_THROWS_WITH_AS(load_scene_json(no_path), ("scene '" + no_path + "': fluids[0]: missing key 'path'").c_str(),
                       std::runtime_error);
  const std::string bad_vec = dir.write("b.json", R"({"fluids": [{"path": "Box.obj", "velocity": [1, 2]}]})");
  CHECK_THROWS_WITH_AS(load_scene_json(bad_vec),
                       ("scene '" + bad_vec + "': fluids[0].velocity: expected a list of 3 numbers").c_str(),
                       std::runtime_error);
  const std::string bad_range = dir.write("c.json", R"({"fluids": [{"path": "Box.obj", "start": 5, "stop": 1}]})");
  CHECK_THROWS_WITH_AS(load_scene_json(bad_range),
                       ("scene '" + bad_range + "': fluids[0]: expected 0 <= start <= stop and step >= 1, got start 5, "
                                                "stop 1, step 1").c_str(),
                       std::runtime_error);
  // The scene's own rules, for every user of the file (generate --scene and run --scene).
  const std::string bad_visc = dir.write("d.json", R"({"fluids": [{"path": "Box.obj"}], "viscosity": -1})");
  CHECK_THROWS_WITH_AS(load_scene_json(bad_visc),
                       ("scene '" + bad_visc + "': root.viscosity: expected a number in [0, 1e6)").c_str(), std::runtime_error);
  const std::string bad_density = dir.write("e.json", R"({"fluids": [{"path": "Box.obj"}], "density": 0})");
  CHECK_THROWS_WITH_AS(load_scene_json(bad_density),
                       ("scene '" + bad_density + "': root.density: expected a number in (0, 1e6)").c_str(),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(load_scene_json((dir.path / "missing.json").string()),
                       ("scene '" + (dir.path / "missing.json").string() + "': cannot open (No such file or directory)").c_str(),
                       std::runtime_error);
}

TEST_CASE("sph random scene: particle range, clearance from walls, determinism") {
  RandomSceneOptions o;
  o.min_particles = 500;
  o.max_particles = 1500;
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    const SceneSetup s = sample_random_scene(o, seed);
    Index n = 0;
    float min_wall_dist2 = 1e9f;
    for (const auto& f : s.fluids) {
      n += f.size();
      CHECK(f.start == 0);
      for (Index i = 0; i < f.size(); ++i)
        for (Index k = 0; k < s.walls.size(); ++k) {
          float d2 = 0;
          for (int c = 0; c < 3; ++c) {
            const float t = f.positions[3 * i + c] - s.walls.positions[3 * k + c];
            d2 += t * t;
          }
          min_wall_dist2 = std::min(min_wall_dist2, d2);
        }
    }
    CHECK(n >= o.min_particles);
    CHECK(n <= o.max_particles);
    CHECK(std::sqrt(min_wall_dist2) >= 2.4f * 0.025f - 1e-5f);
    CHECK(s.viscosity >= 0.01f);
    CHECK(s.density >= 500.0f);
    CHECK(s.density <= 2000.0f);
    const SceneSetup again = sample_random_scene(o, seed);
    CHECK(again.fluids.size() == s.fluids.size());
    CHECK(again.fluids[0].positions == s.fluids[0].positions);
    CHECK(again.walls.positions == s.walls.positions);
  }
  CHECK(sample_random_scene(o, 1).fluids[0].positions != sample_random_scene(o, 2).fluids[0].positions);
  o.max_particles = 100;
  CHECK_THROWS_WITH_AS(sample_random_scene(o, 1),
                       "RandomSceneOptions: max_particles must be >= min_particles (500), got 100",
                       std::invalid_argument);
}

TEST_CASE("sph simulate_scene: frames, emitters and DLF fields") {
  SceneSetup scene;
  scene.walls = sample_box_surface(Eigen::Vector3f::Zero(), Eigen::Vector3f(0.6f, 0.6f, 0.6f), 0.032f, true);
  scene.density = 800.0f;
  scene.viscosity = 0.02f;
  // Body 0 from the start; body 1 an emitter at frames 2 and 4 (its second batch lands where
  // the first still is, so it is skipped); body 2 starts below the walls and is dropped.
  for (int body = 0; body < 3; ++body) {
    FluidSource src;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j)
        for (int k = 0; k < 3; ++k)
          src.positions.insert(src.positions.end(), {0.1f + 0.05f * i + 0.3f * body, 0.2f + 0.05f * j - (body == 2 ? 1.0f : 0.0f), 0.1f + 0.05f * k});
    src.velocities.assign(src.positions.size(), 0.0f);
    if (body == 1) src.start = 2, src.stop = 6, src.step = 2;
    scene.fluids.push_back(src);
  }
  long steps = 0;
  const lagrad::Sequence seq = simulate_scene(scene, 6, DfsphOptions{}, "s", {}, 50.0, &steps);
  REQUIRE(seq.frames.size() == 6);
  const size_t counts[6] = {54, 27, 54, 54, 54, 54};
  for (int f = 0; f < 6; ++f) {
    CHECK(seq.frames[f].frame_id == f);
    CHECK(seq.frames[f].scene_id == "s");
    CHECK(seq.frames[f].num_particles() == counts[f]);
    CHECK(seq.frames[f].mass[0] == doctest::Approx(800.0f * 0.05f * 0.05f * 0.05f));
    CHECK(seq.frames[f].viscosity.back() == doctest::Approx(0.02f));
  }
  CHECK(seq.box == scene.walls.positions);
  CHECK(seq.box_normals == scene.walls.normals);
  CHECK(steps >= 5 * 4);  // at least 4 steps per 1/50 s frame (dt <= 0.005)
  // Frame 0 is the initial state.
  CHECK(std::equal(scene.fluids[0].positions.begin(), scene.fluids[0].positions.end(), seq.frames[0].pos.begin()));
}

TEST_CASE("sph generate_dataset: DLF files in train/ and valid/, independent of the thread count") {
  TempDir dir("gen");
  GenerateOptions o;
  o.num_scenes = 3;
  o.frames = 4;
  o.seed = 11;
  o.valid_scenes = 1;
  o.frames_per_file = 2;
  o.scene.min_particles = 200;
  o.scene.max_particles = 400;
  auto generate = [&](int threads, const std::string& sub) {
    o.output = (dir.path / sub).string();
    lagrad::set_num_threads(threads);
    long last_done = 0, calls = 0;
    const auto reports = generate_dataset(o, [&](long done, long total) {
      CHECK(total == 12);
      CHECK(done == last_done + 1);
      last_done = done;
      ++calls;
    });
    lagrad::set_num_threads(0);
    CHECK(calls == 12);
    return reports;
  };
  const auto reports = generate(2, "a");
  REQUIRE(reports.size() == 3);
  CHECK(reports[0].split == "train");
  CHECK(reports[1].split == "train");
  CHECK(reports[2].split == "valid");
  CHECK(fs::exists(dir.path / "a" / "train" / "sim_0000_00.msgpack.zst"));
  CHECK(fs::exists(dir.path / "a" / "train" / "sim_0001_01.msgpack.zst"));
  CHECK(fs::exists(dir.path / "a" / "valid" / "sim_0002_01.msgpack.zst"));
  const lagrad::Sequence second = lagrad::read_dataset_file((dir.path / "a" / "train" / "sim_0001_01.msgpack.zst").string());
  REQUIRE(second.frames.size() == 2);
  CHECK(second.frames[0].frame_id == 2);
  CHECK(second.frames[1].frame_id == 3);
  CHECK(second.frames[0].scene_id == "sim_0001");
  CHECK(second.num_box_points() > 1000);
  CHECK(second.frames[0].num_particles() >= 200);
  CHECK(second.frames[0].num_particles() <= 400);
  const float m = second.frames[0].mass[0];
  CHECK(m >= 500.0f * 0.05f * 0.05f * 0.05f);
  CHECK(m <= 2000.0f * 0.05f * 0.05f * 0.05f);

  generate(1, "b");
  for (const char* f : {"train/sim_0000_00.msgpack.zst", "train/sim_0001_01.msgpack.zst", "valid/sim_0002_01.msgpack.zst"}) {
    CAPTURE(f);
    const auto a = lagrad::read_dataset_file((dir.path / "a" / f).string());
    const auto b = lagrad::read_dataset_file((dir.path / "b" / f).string());
    REQUIRE(a.frames.size() == b.frames.size());
    for (size_t i = 0; i < a.frames.size(); ++i) {
      CHECK(a.frames[i].pos == b.frames[i].pos);
      CHECK(a.frames[i].vel == b.frames[i].vel);
    }
  }
  o.frames = 1;
  CHECK_THROWS_WITH_AS(generate_dataset(o), "generate: --frames must be >= 2, got 1", std::invalid_argument);

  // The split: at least one validation and one training scene once there are two scenes.
  GenerateOptions split;
  CHECK(split.num_valid() == 2);  // 10% of 20
  split.num_scenes = 1;
  CHECK(split.num_valid() == 0);
  split.num_scenes = 2;
  CHECK(split.num_valid() == 1);
  split.valid_fraction = 0.9;
  CHECK(split.num_valid() == 1);
  split.valid_scenes = 2;
  CHECK(split.num_valid() == 2);
}
