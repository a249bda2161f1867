// LagrangeBench's dataset layout: metadata.json as LagrangeBench writes it, .h5 round trips, and
// the errors for malformed files (built here with the HDF5 C API directly, not our writer).
#include <doctest/doctest.h>
#include <hdf5.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "../test_dataset_util.h"
#include "fluids/dataset_stream.h"
#include "fluids/generators/taylor_green.h"
#include "fluids/io/lagrangebench.h"

using namespace lagrad;
using namespace lagrad::test;

namespace {

// Writes one group `name` with a float32 `position` of shape pos_dims and an int64
// `particle_type` of shape type_dims (zeros); either dataset is skipped when its dims are empty.
void write_raw(const std::string& path, const std::string& name, const std::vector<hsize_t>& pos_dims,
               const std::vector<hsize_t>& type_dims) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t group = H5Gcreate2(file, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  auto put = [&](const char* ds_name, const std::vector<hsize_t>& dims, hid_t type) {
    if (dims.empty()) return;
    hsize_t n = 1;
    for (hsize_t d : dims) n *= d;
    std::vector<double> zeros(n, 0.0);
    const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    const hid_t ds = H5Dcreate2(group, ds_name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data());
    H5Dclose(ds);
    H5Sclose(space);
  };
  put("position", pos_dims, H5T_IEEE_F32LE);
  put("particle_type", type_dims, H5T_STD_I64LE);
  H5Gclose(group);
  H5Fclose(file);
}

}  // namespace

TEST_CASE("read_lagrangebench_metadata: a metadata.json laid out as LagrangeBench's (Python json.dump)") {
  TempDir dir;
  const std::string path = dir.file("metadata.json");
  write_bytes(path, R"({
    "case": "TGV", "solver": "SPH", "density_evolution": true,
    "dim": 3, "dx": 0.15707963267948966, "dt": 0.005, "t_end": 5.0, "viscosity": 0.02,
    "write_every": 10, "sequence_length_train": 61, "num_trajs_train": 200,
    "sequence_length_test": 61, "num_trajs_test": 100, "num_particles_max": 8000,
    "periodic_boundary_conditions": [true, true, true],
    "bounds": [[0.0, 6.283185307179586], [0.0, 6.283185307179586], [0.0, 6.283185307179586]],
    "default_connectivity_radius": 0.29,
    "vel_mean": [1.2e-07, -3.4e-08, 0.0], "vel_std": [0.4, 0.4, 0.3],
    "acc_mean": [0.0, 0.0, 0.0], "acc_std": [1e-05, 2e-05, 3e-05]
  })");
  const LagrangeBenchMetadata m = read_lagrangebench_metadata(path);
  CHECK(m.case_name == "TGV");
  CHECK(m.dim == 3);
  CHECK(m.dt == doctest::Approx(0.005));
  CHECK(m.write_every == 10);
  CHECK(m.frame_dt() == doctest::Approx(0.05));
  CHECK(m.dx == doctest::Approx(0.15707963267948966));
  REQUIRE(m.bounds.size() == 3);
  CHECK(m.bounds[2][1] == doctest::Approx(6.283185307179586));
  CHECK(m.periodic_boundary_conditions == std::vector<bool>{true, true, true});
  CHECK(m.periodic_box().size() == 3);
  CHECK(m.default_connectivity_radius == doctest::Approx(0.29));
  CHECK(m.vel_mean[0] == doctest::Approx(1.2e-07));
  CHECK(m.acc_std[2] == doctest::Approx(3e-05));
  CHECK(m.num_particles_max == 8000);

  // Written and read back: the same values.
  write_lagrangebench_metadata(dir.file("copy.json"), m);
  const LagrangeBenchMetadata c = read_lagrangebench_metadata(dir.file("copy.json"));
  CHECK(c.dt == m.dt);
  CHECK(c.dx == m.dx);
  CHECK(c.bounds == m.bounds);
  CHECK(c.acc_std == m.acc_std);
  CHECK(c.case_name == "TGV");

  write_bytes(path, R"({"dim": 2, "dt": 0.001, "bounds": [[0.0, 1.0], [0.0, 1.0]],
                        "periodic_boundary_conditions": [true, false]})");
  CHECK_THROWS_WITH_AS(read_lagrangebench_metadata(path),
                       ("'" + path + "': missing key 'default_connectivity_radius'").c_str(), std::runtime_error);
  write_bytes(path, R"({"dim": 2, "dt": 0.001, "bounds": [[0.0, 1.0]], "periodic_boundary_conditions": [true, false],
                        "default_connectivity_radius": 0.015})");
  CHECK_THROWS_WITH_AS(read_lagrangebench_metadata(path),
                       ("'" + path + "': 'bounds' must be a list of dim = 2 [lo, hi] pairs").c_str(), std::runtime_error);
}

TEST_CASE("LagrangeBench .h5: write, list and read back trajectories bit for bit") {
  TempDir dir;
  std::vector<LagrangeBenchTrajectory> ts;
  for (int i = 0; i < 3; ++i) {
    LagrangeBenchTrajectory t;
    t.name = lagrangebench_trajectory_name(i);
    t.frames = 4 + i;
    t.particles = 5;
    t.dim = i == 2 ? 2 : 3;
    for (std::int64_t k = 0; k < t.frames * t.particles * t.dim; ++k) t.position.push_back(0.001f * static_cast<float>(k) + i);
    for (int p = 0; p < 5; ++p) t.particle_type.push_back(p % 2);
    ts.push_back(t);
  }
  const std::string path = dir.file("train.h5");
  write_lagrangebench_file(path, ts);
  CHECK(lagrangebench_trajectory_names(path) == std::vector<std::string>{"00000", "00001", "00002"});
  const std::vector<LagrangeBenchTrajectory> back = read_lagrangebench_file(path);
  REQUIRE(back.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(back[i].name == ts[i].name);
    CHECK(back[i].frames == ts[i].frames);
    CHECK(back[i].particles == 5);
    CHECK(back[i].dim == ts[i].dim);
    CHECK(back[i].position == ts[i].position);
    CHECK(back[i].particle_type == ts[i].particle_type);
  }
  const std::vector<float> f = back[1].frame(2);
  REQUIRE(f.size() == 15);
  CHECK(f[0] == ts[1].position[30]);
}

TEST_CASE("LagrangeBench .h5: errors name the file, the group and the shapes") {
  TempDir dir;
  const std::string path = dir.file("bad.h5");
  write_raw(path, "00000", {4, 10}, {10});
  CHECK_THROWS_WITH_AS(read_lagrangebench_trajectory(path, "00000"),
                       ("'" + path + "': group '00000': dataset 'position' expected [T, N, dim] with dim 2 or 3, got [4, 10]").c_str(),
                       std::runtime_error);
  write_raw(path, "00000", {4, 10, 3}, {9});
  CHECK_THROWS_WITH_AS(read_lagrangebench_trajectory(path, "00000"),
                       ("'" + path + "': group '00000': dataset 'particle_type' expected [N=10], got [9]").c_str(),
                       std::runtime_error);
  write_raw(path, "00000", {}, {10});
  CHECK_THROWS_WITH_AS(read_lagrangebench_trajectory(path, "00000"),
                       ("'" + path + "': missing group '00000': dataset 'position'").c_str(), std::runtime_error);
  CHECK_THROWS_WITH_AS(read_lagrangebench_trajectory(path, "00007"),
                       ("'" + path + "': no trajectory group '00007'").c_str(), std::runtime_error);
  // An int64 particle_type (as numpy writes by default) is read into int32.
  write_raw(path, "00003", {2, 10, 2}, {10});
  const LagrangeBenchTrajectory t = read_lagrangebench_trajectory(path, "00003");
  CHECK(t.particle_type.size() == 10);
  CHECK(t.dim == 2);
  write_bytes(dir.file("not.h5"), "hello");
  CHECK_THROWS_WITH_AS(lagrangebench_trajectory_names(dir.file("not.h5")),
                       ("'" + dir.file("not.h5") + "': not an HDF5 file (or it cannot be opened)").c_str(),
                       std::runtime_error);
}

TEST_CASE("LagrangeBench trajectories through DatasetStream and SequenceReader: windows, periodic velocities, determinism") {
  TempDir dir;
  TaylorGreenOptions o;
  o.particles_per_side = 4;
  o.frames = 6;
  o.train = 3;
  o.valid = 1;
  o.test = 0;
  const LagrangeBenchMetadata meta = write_taylor_green_dataset(dir.path().string(), o);
  const std::vector<std::string> sources = lagrangebench_split_sources(dir.path().string(), "train");
  REQUIRE(sources.size() == 3);
  CHECK(sources[1] == dir.file("train.h5") + "#00001");

  // The sequence: positions as stored, velocities from minimum-image displacements.
  const Sequence seq = read_lagrangebench_sequence(sources[0]);
  const LagrangeBenchTrajectory t = read_lagrangebench_trajectory(dir.file("train.h5"), "00000");
  REQUIRE(seq.frames.size() == 6);
  CHECK(seq.frames[2].scene_id == "train/00000");
  CHECK(seq.frames[2].pos == t.frame(2));
  const double L = 2 * M_PI;
  for (std::size_t j = 0; j < seq.frames[3].vel.size(); ++j) {
    double d = static_cast<double>(t.position[3 * 64 * 3 + j]) - t.position[2 * 64 * 3 + j];
    d -= L * std::round(d / L);
    CHECK(seq.frames[3].vel[j] == doctest::Approx(d / meta.frame_dt()).epsilon(1e-5));
  }

  // Training stream: 3 trajectories x (6 - 3 + 1) windows, the same batches for the same seed.
  auto collect = [&](std::uint64_t seed) {
    StreamOptions so = train_stream_options(4, seed);
    so.repeat = false;
    so.random_rotation = false;
    DatasetStream stream(sources, so);
    std::vector<std::pair<std::string, std::size_t>> order;
    while (auto b = stream.next())
      for (const Sample& s : *b) order.emplace_back(s.file, s.first_frame);
    return order;
  };
  const auto a = collect(7), b = collect(7);
  CHECK(a.size() == 12);
  CHECK(a == b);

  SequenceReader reader(lagrangebench_split_sources(dir.path().string(), "valid"));
  const auto v = reader.next();
  REQUIRE(v.has_value());
  CHECK(v->frames.size() == 6);
  CHECK(!reader.next().has_value());

  CHECK_THROWS_WITH_AS(DatasetStream({dir.file("nope.h5") + "#00000"}, valid_stream_options()),
                       ("dataset file '" + dir.file("nope.h5") + "#00000': does not exist or is not a file").c_str(),
                       std::runtime_error);
}
