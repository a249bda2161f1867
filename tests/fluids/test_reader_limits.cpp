// Inputs that used to crash, hang or allocate gigabytes: each reader refuses them with its own
// message, naming the file and the limit (docs: "Limits" sections).
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/parallel.h"
#include "fluids/dataset_file.h"
#include "fluids/pretrained_weights.h"
#include "fluids/sph/data_generator.h"
#include "fluids/sph/obj_sampling.h"
#include "fluids/sph/scene_json.h"
#include "fluids/train_config.h"
#include "keras_h5_fixture.h"

using namespace lagrad;
namespace fs = std::filesystem;

namespace {

struct Dir {
  fs::path path;
  explicit Dir(const std::string& tag) {
    static int n = 0;
    path = fs::temp_directory_path() / ("lagrad_limits_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::create_directories(path);
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path / name, std::ios::binary) << bytes;
    return (path / name).string();
  }
};

std::string cube_obj(float side) {
  std::string s;
  for (int i = 0; i < 8; ++i)
    s += "v " + std::to_string(i & 1 ? side : 0) + " " + std::to_string(i & 2 ? side : 0) + " " +
         std::to_string(i & 4 ? side : 0) + "\n";
  // outward quads of the cube with vertex k = x + 2y + 4z (1-based below)
  return s + "f 1 3 4 2\nf 5 6 8 7\nf 1 2 6 5\nf 3 7 8 4\nf 1 5 7 3\nf 2 4 8 6\n";
}

}  // namespace

TEST_CASE("h5 limits: declared dims past int64 or past the file are refused before allocating") {
  Dir d("h5");
  const std::string ok = (d.path / "ok.h5").string();
  test::write_keras_h5(ok, {3, 2});
  const NamedTensors w = read_keras_h5_weights(ok);
  CHECK(w.size() == 3);  // gravity, dense0.weight, dense0.bias

  // 2^31 * 2^31 * 4 elements: the product wraps int64; the transpose walked past a tiny tensor.
  const std::string wrap = (d.path / "wrap.h5").string();
  test::write_keras_h5(wrap, {hsize_t{1} << 31, hsize_t{1} << 31, 4});
  CHECK_THROWS_WITH_AS(read_keras_h5_weights(wrap), doctest::Contains("is larger than the file"), std::runtime_error);
  // 2^40 floats: a real product, but 4 TiB the file cannot hold.
  const std::string huge = (d.path / "huge.h5").string();
  test::write_keras_h5(huge, {hsize_t{1} << 20, hsize_t{1} << 20});
  CHECK_THROWS_WITH_AS(read_keras_h5_weights(huge),
                       doctest::Contains("dataset 'dense0/kernel:0': declared size [1048576, 1048576] of 4-byte items "
                                         "is larger than the file"),
                       std::runtime_error);
}

TEST_CASE("dataset limits: a declared 15 GiB frame and a zstd bomb fail without inflating") {
  // A 16-byte frame: magic, descriptor (single segment, 8-byte content size), 15 GiB, one empty
  // last raw block. The reader used to reserve the declared size.
  std::string frame = "\x28\xb5\x2f\xfd\xe0";
  const std::uint64_t size = std::uint64_t{15} << 30;
  for (int i = 0; i < 8; ++i) frame += static_cast<char>((size >> (8 * i)) & 0xFF);
  frame += std::string("\x01\x00\x00", 3);
  CHECK_THROWS_AS(decode_dataset_bytes(frame, "declared.zst"), std::runtime_error);

  // 256 MiB of zeros compress to a few KB; decoding stops at 64x the input (16 MiB at least).
  const std::string bomb = zstd_compress(std::string(std::size_t{256} << 20, '\0'));
  REQUIRE(bomb.size() < (std::size_t{1} << 16));
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_AS(decode_dataset_bytes(bomb, "bomb.zst"), doctest::Contains("decompressed data exceeds 16777216 bytes"),
                       std::runtime_error);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}

TEST_CASE("config limits: sizes that would hang or exhaust memory are refused with their line") {
  auto err = [](const std::string& yaml) {
    try {
      parse_train_config("dataset_dir: d\n" + yaml);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(err("training:\n  batch_size: 2147483647\n") ==
        "config line 3: training.batch_size must be in [1, 4096], got '2147483647'");
  CHECK(err("train_data:\n  shuffle_buffer: 100000000\n") ==
        "config line 3: train_data.shuffle_buffer must be in [1, 65536], got '100000000'");
  CHECK(err("train_data:\n  shuffle_buffer: 1e8\n") == "config line 3: train_data.shuffle_buffer must be an integer, got '1e8'");
  CHECK(err("model:\n  kernel_size: [64, 64, 64]\n") == "config line 3: model.kernel_size must be 3 integers in [1, 16], got 'a list'");
  CHECK(err("model:\n  kernel_size: [1000, 1000, 1000]\n").find("must be 3 integers in [1, 16]") != std::string::npos);
  CHECK(err("model:\n  layer_channels: [100000, 3]\n").find("must be >= 2 integers in [1, 4096]") != std::string::npos);
  CHECK(err("model:\n  kernel_size: [16, 16, 16]\n  layer_channels: [4096, 4096, 3]\n").find("parameters") !=
        std::string::npos);
  CHECK(err("model: " + std::string(100000, '[')).find("nested deeper than 64 levels") != std::string::npos);
  CHECK(err(std::string(1000000, '[')).find("nested deeper than 64 levels") != std::string::npos);
}

TEST_CASE("config limits: a directory or a missing file is named as such") {
  Dir d("cfg");
  CHECK_THROWS_WITH_AS(load_train_config(d.path.string()),
                       ("config '" + d.path.string() + "': is a directory, expected a file").c_str(), std::invalid_argument);
  CHECK_THROWS_WITH_AS(load_train_config((d.path / "nope.yaml").string()),
                       ("config '" + (d.path / "nope.yaml").string() + "': cannot open (No such file or directory)").c_str(),
                       std::invalid_argument);
}

TEST_CASE("scene limits: non-finite and huge numbers, INT_MAX frames and giant volumes are refused") {
  Dir d("scene");
  d.write("cube.obj", cube_obj(0.2f));
  auto err = [&](const std::string& json) {
    const std::string p = d.write("scene.json", json);
    try {
      sph::load_scene_json(p, 0.025f);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string fluid = R"({"path": "cube.obj")";
  CHECK(err(R"({"fluids": [)" + fluid + "}]}") == "no error");
  CHECK(err(R"({"fluids": [)" + fluid + R"(, "translation": [1e31, 0, 0]}]})").find("expected finite numbers") !=
        std::string::npos);
  CHECK(err(R"({"fluids": [)" + fluid + R"(, "velocity": [.nan, 0, 0]}]})").find("expected finite numbers") !=
        std::string::npos);
  CHECK(err(R"({"fluids": [)" + fluid + R"(, "start": 2147483647}]})").find("start <= 16777216") != std::string::npos);
  CHECK(err(R"({"viscosity": .inf, "fluids": [)" + fluid + "}]}").find("root.viscosity") != std::string::npos);
  CHECK(err(std::string(1000000, '[')).find("nested deeper than 32 levels") != std::string::npos);
  CHECK_THROWS_WITH_AS(sph::load_scene_json(d.path.string(), 0.025f),
                       ("scene '" + d.path.string() + "': is a directory, expected a file").c_str(), std::runtime_error);

  // A 20 m fluid cube at 5 cm spacing: 64 million grid points, which used to hang.
  d.write("big.obj", cube_obj(20.0f));
  CHECK(err(R"({"fluids": [{"path": "big.obj"}]})").find("more than the limit of 16777216") != std::string::npos);
  CHECK_THROWS_WITH_AS(sph::sample_surface(sph::parse_obj(cube_obj(20.0f), "big.obj"), 0.001f, 0, false),
                       doctest::Contains("more than the limit of 1048576"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(sph::parse_obj("v 0 0 0\nv 1e31 0 0\nv 0 1 0\nf 1 2 3\n", "far.obj"),
                       doctest::Contains("OBJ 'far.obj': vertex 2 has coordinate"), std::runtime_error);
  CHECK_THROWS_WITH_AS(sph::parse_obj("v 0 0 0\nv 0 1e39 0\nv 0 1 0\nf 1 2 3\n", "inf.obj"),
                       doctest::Contains("OBJ 'inf.obj': vertex 2 has coordinate inf"), std::runtime_error);
}

TEST_CASE("generate: a scene whose write fails while another simulates ends in that error, not a crash") {
  // Scene 0's first file path is a directory: its write fails while scene 1 is still
  // simulating. The exception used to cancel the outer TBB loop, which cut short the nested
  // loops of scene 1 (it then read an empty vector: SIGSEGV in 7 of 20 runs).
  for (int rep = 0; rep < 3; ++rep) {
    Dir d("gen");
    sph::GenerateOptions o;
    o.output = d.path.string();
    o.num_scenes = 3;
    o.valid_scenes = 1;
    o.frames = 4;
    o.frames_per_file = 2;
    o.scene.min_particles = 150;
    o.scene.max_particles = 250;
    fs::create_directories(d.path / "train" / "sim_0000_00.msgpack.zst");
    set_num_threads(2);
    CHECK_THROWS_WITH_AS(sph::generate_dataset(o), doctest::Contains("sim_0000_00.msgpack.zst"), std::runtime_error);
    set_num_threads(0);
  }
}
