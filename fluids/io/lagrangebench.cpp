#include "fluids/io/lagrangebench.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "fluids/frame.h"
#include "fluids/io/hdf5_handle.h"

namespace lagrad {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("'" + path + "': " + what);
}

// ---------------------------------------------------------------- metadata.json

template <class T>
T scalar(const std::string& path, const YAML::Node& n, const std::string& key, const char* type_name) {
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    fail(path, "'" + key + "' must be " + type_name + ", got '" + (n.IsScalar() ? n.Scalar() : std::string("a list or map")) + "'");
  }
}

const YAML::Node required(const std::string& path, const YAML::Node& root, const std::string& key) {
  const YAML::Node n = root[key];
  if (!n) fail(path, "missing key '" + key + "'");
  return n;
}

template <class T>
std::vector<T> list(const std::string& path, const YAML::Node& n, const std::string& key, const char* type_name,
                    std::size_t expected) {
  if (!n.IsSequence() || n.size() != expected)
    fail(path, "'" + key + "' must be a list of " + std::to_string(expected) + " " + type_name);
  std::vector<T> out;
  for (const auto& item : n) out.push_back(scalar<T>(path, item, key, type_name));
  return out;
}

std::string json_number(double v) {
  std::ostringstream s;
  s.precision(std::numeric_limits<double>::max_digits10);
  s << v;
  std::string t = s.str();
  if (t.find_first_of(".eEn") == std::string::npos) t += ".0";
  return t;
}

std::string json_list(const std::vector<double>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + json_number(v[i]);
  return s + "]";
}

std::string json_string(const std::string& v) {
  std::string s = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') s += '\\';
    s += c;
  }
  return s + "\"";
}

// ---------------------------------------------------------------- .h5

std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

// Opens dataset `name` of `group`, checks its type class, and returns its dims.
std::vector<hsize_t> dataset_dims(const std::string& path, const std::string& where, hid_t ds, H5T_class_t want,
                                  const char* want_name) {
  H5Handle type(H5Dget_type(ds), H5Tclose);
  if (!type.valid() || H5Tget_class(type.get()) != want) fail(path, where + " is not " + want_name);
  H5Handle space(H5Dget_space(ds), H5Sclose);
  const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
  if (rank < 0 || rank > 8) fail(path, "cannot read the shape of " + where);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

herr_t collect_group(hid_t, const char* name, const H5L_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}

void write_dataset(const std::string& path, hid_t group, const std::string& where, const char* name,
                   const std::vector<hsize_t>& dims, hid_t file_type, hid_t mem_type, const void* data) {
  H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  H5Handle ds(H5Dcreate2(group, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  if (!space.valid() || !ds.valid()) fail(path, "cannot create " + where + "/" + name);
  if (H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    fail(path, "cannot write " + where + "/" + name);
}

}  // namespace

std::vector<double> LagrangeBenchMetadata::periodic_box() const {
  if (periodic_boundary_conditions.empty() || bounds.size() != periodic_boundary_conditions.size()) return {};
  std::vector<double> box;
  for (std::size_t k = 0; k < bounds.size(); ++k) {
    if (!periodic_boundary_conditions[k]) return {};
    box.push_back(bounds[k][1] - bounds[k][0]);
  }
  return box;
}

LagrangeBenchMetadata read_lagrangebench_metadata(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    fail(path, "cannot open file");
  } catch (const YAML::Exception& e) {
    fail(path, std::string("not valid JSON: ") + e.what());
  }
  if (!root.IsMap()) fail(path, "expected a JSON object at the top level");
  LagrangeBenchMetadata m;
  m.dim = scalar<int>(path, required(path, root, "dim"), "dim", "an integer");
  if (m.dim != 2 && m.dim != 3) fail(path, "'dim' must be 2 or 3, got " + std::to_string(m.dim));
  const std::size_t d = static_cast<std::size_t>(m.dim);
  m.dt = scalar<double>(path, required(path, root, "dt"), "dt", "a number");
  if (!(m.dt > 0)) fail(path, "'dt' must be positive");
  if (root["write_every"]) m.write_every = scalar<int>(path, root["write_every"], "write_every", "an integer");
  if (m.write_every < 1) fail(path, "'write_every' must be >= 1, got " + std::to_string(m.write_every));
  if (root["dx"]) m.dx = scalar<double>(path, root["dx"], "dx", "a number");
  const YAML::Node bounds = required(path, root, "bounds");
  if (!bounds.IsSequence() || bounds.size() != d) fail(path, "'bounds' must be a list of dim = " + std::to_string(d) + " [lo, hi] pairs");
  for (const auto& b : bounds) {
    const std::vector<double> lh = list<double>(path, b, "bounds", "numbers", 2);
    if (!(lh[1] > lh[0])) fail(path, "'bounds' entries must have lo < hi");
    m.bounds.push_back({lh[0], lh[1]});
  }
  m.periodic_boundary_conditions =
      list<bool>(path, required(path, root, "periodic_boundary_conditions"), "periodic_boundary_conditions", "booleans", d);
  m.default_connectivity_radius =
      scalar<double>(path, required(path, root, "default_connectivity_radius"), "default_connectivity_radius", "a number");
  for (auto [key, out] : {std::pair<const char*, std::vector<double>*>{"vel_mean", &m.vel_mean}, {"vel_std", &m.vel_std},
                          {"acc_mean", &m.acc_mean}, {"acc_std", &m.acc_std}})
    if (root[key]) *out = list<double>(path, root[key], key, "numbers", d);
  if (root["case"]) m.case_name = scalar<std::string>(path, root["case"], "case", "a string");
  if (root["solver"]) m.solver = scalar<std::string>(path, root["solver"], "solver", "a string");
  if (root["sequence_length_train"])
    m.sequence_length_train = scalar<int>(path, root["sequence_length_train"], "sequence_length_train", "an integer");
  if (root["sequence_length_test"])
    m.sequence_length_test = scalar<int>(path, root["sequence_length_test"], "sequence_length_test", "an integer");
  if (root["num_particles_max"])
    m.num_particles_max = scalar<int>(path, root["num_particles_max"], "num_particles_max", "an integer");
  return m;
}

void write_lagrangebench_metadata(const std::string& path, const LagrangeBenchMetadata& m) {
  std::vector<std::string> lines;
  if (!m.case_name.empty()) lines.push_back("\"case\": " + json_string(m.case_name));
  if (!m.solver.empty()) lines.push_back("\"solver\": " + json_string(m.solver));
  lines.push_back("\"dim\": " + std::to_string(m.dim));
  lines.push_back("\"dt\": " + json_number(m.dt));
  lines.push_back("\"write_every\": " + std::to_string(m.write_every));
  if (m.dx > 0) lines.push_back("\"dx\": " + json_number(m.dx));
  std::string b = "\"bounds\": [";
  for (std::size_t k = 0; k < m.bounds.size(); ++k)
    b += (k ? ", " : "") + json_list({m.bounds[k][0], m.bounds[k][1]});
  lines.push_back(b + "]");
  std::string p = "\"periodic_boundary_conditions\": [";
  for (std::size_t k = 0; k < m.periodic_boundary_conditions.size(); ++k)
    p += std::string(k ? ", " : "") + (m.periodic_boundary_conditions[k] ? "true" : "false");
  lines.push_back(p + "]");
  lines.push_back("\"default_connectivity_radius\": " + json_number(m.default_connectivity_radius));
  if (m.sequence_length_train > 0) lines.push_back("\"sequence_length_train\": " + std::to_string(m.sequence_length_train));
  if (m.sequence_length_test > 0) lines.push_back("\"sequence_length_test\": " + std::to_string(m.sequence_length_test));
  if (m.num_particles_max > 0) lines.push_back("\"num_particles_max\": " + std::to_string(m.num_particles_max));
  if (!m.vel_mean.empty()) lines.push_back("\"vel_mean\": " + json_list(m.vel_mean));
  if (!m.vel_std.empty()) lines.push_back("\"vel_std\": " + json_list(m.vel_std));
  if (!m.acc_mean.empty()) lines.push_back("\"acc_mean\": " + json_list(m.acc_mean));
  if (!m.acc_std.empty()) lines.push_back("\"acc_std\": " + json_list(m.acc_std));
  std::ofstream out(path);
  if (!out) fail(path, "cannot open file for writing");
  out << "{\n";
  for (std::size_t i = 0; i < lines.size(); ++i) out << "  " << lines[i] << (i + 1 < lines.size() ? ",\n" : "\n");
  out << "}\n";
  if (!out) fail(path, "cannot write file");
}

std::vector<float> LagrangeBenchTrajectory::frame(std::int64_t t) const {
  if (t < 0 || t >= frames)
    throw std::out_of_range("trajectory '" + name + "': frame " + std::to_string(t) + " of " + std::to_string(frames));
  const std::size_t size = static_cast<std::size_t>(particles) * static_cast<std::size_t>(dim);
  const auto begin = position.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(t) * size);
  return std::vector<float>(begin, begin + static_cast<std::ptrdiff_t>(size));
}

std::string lagrangebench_trajectory_name(int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%05d", index);
  return buf;
}

std::vector<std::string> lagrangebench_trajectory_names(const std::string& path) {
  const H5SilentErrors quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0) fail(path, "not an HDF5 file (or it cannot be opened)");
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) fail(path, "cannot open file");
  std::vector<std::string> names;
  if (H5Literate(file.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_group, &names) < 0)
    fail(path, "cannot list the trajectory groups");
  std::sort(names.begin(), names.end());
  return names;
}

LagrangeBenchTrajectory read_lagrangebench_trajectory(const std::string& path, const std::string& name) {
  const H5SilentErrors quiet;
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) fail(path, "cannot open file as HDF5");
  if (H5Lexists(file.get(), name.c_str(), H5P_DEFAULT) <= 0) fail(path, "no trajectory group '" + name + "'");
  H5Handle group(H5Gopen2(file.get(), name.c_str(), H5P_DEFAULT), H5Gclose);
  if (!group.valid()) fail(path, "'" + name + "' is not a group");
  LagrangeBenchTrajectory t;
  t.name = name;
  const std::string pos_where = "group '" + name + "': dataset 'position'";
  const std::string type_where = "group '" + name + "': dataset 'particle_type'";
  if (H5Lexists(group.get(), "position", H5P_DEFAULT) <= 0) fail(path, "missing " + pos_where);
  if (H5Lexists(group.get(), "particle_type", H5P_DEFAULT) <= 0) fail(path, "missing " + type_where);
  H5Handle pos(H5Dopen2(group.get(), "position", H5P_DEFAULT), H5Dclose);
  H5Handle types(H5Dopen2(group.get(), "particle_type", H5P_DEFAULT), H5Dclose);
  if (!pos.valid()) fail(path, "cannot open " + pos_where);
  if (!types.valid()) fail(path, "cannot open " + type_where);
  const std::vector<hsize_t> pd = dataset_dims(path, pos_where, pos.get(), H5T_FLOAT, "floating point");
  if (pd.size() != 3 || (pd[2] != 2 && pd[2] != 3))
    fail(path, pos_where + " expected [T, N, dim] with dim 2 or 3, got " + shape_text(pd));
  const std::vector<hsize_t> td = dataset_dims(path, type_where, types.get(), H5T_INTEGER, "integer");
  if (td.size() != 1 || td[0] != pd[1])
    fail(path, type_where + " expected [N=" + std::to_string(pd[1]) + "], got " + shape_text(td));
  t.frames = static_cast<std::int64_t>(pd[0]);
  t.particles = static_cast<std::int64_t>(pd[1]);
  t.dim = static_cast<int>(pd[2]);
  t.position.resize(static_cast<std::size_t>(pd[0] * pd[1] * pd[2]));
  t.particle_type.resize(static_cast<std::size_t>(td[0]));
  if (!t.position.empty() && H5Dread(pos.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.position.data()) < 0)
    fail(path, "cannot read " + pos_where + " (truncated or corrupt file?)");
  if (!t.particle_type.empty() &&
      H5Dread(types.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.particle_type.data()) < 0)
    fail(path, "cannot read " + type_where + " (truncated or corrupt file?)");
  return t;
}

std::vector<LagrangeBenchTrajectory> read_lagrangebench_file(const std::string& path) {
  std::vector<LagrangeBenchTrajectory> out;
  for (const std::string& name : lagrangebench_trajectory_names(path)) out.push_back(read_lagrangebench_trajectory(path, name));
  return out;
}

void write_lagrangebench_file(const std::string& path, const std::vector<LagrangeBenchTrajectory>& trajectories) {
  const H5SilentErrors quiet;
  for (const LagrangeBenchTrajectory& t : trajectories) {
    const std::size_t want = static_cast<std::size_t>(t.frames) * static_cast<std::size_t>(t.particles) *
                             static_cast<std::size_t>(t.dim);
    if (t.name.empty()) throw std::invalid_argument("write_lagrangebench_file: a trajectory has no name");
    if (t.position.size() != want || t.particle_type.size() != static_cast<std::size_t>(t.particles))
      throw std::invalid_argument("write_lagrangebench_file: trajectory '" + t.name + "' has " +
                                  std::to_string(t.position.size()) + " coordinates and " +
                                  std::to_string(t.particle_type.size()) + " types for [T=" + std::to_string(t.frames) +
                                  ", N=" + std::to_string(t.particles) + ", dim=" + std::to_string(t.dim) + "]");
  }
  H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) fail(path, "cannot create file");
  for (const LagrangeBenchTrajectory& t : trajectories) {
    H5Handle group(H5Gcreate2(file.get(), t.name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    const std::string where = "group '" + t.name + "'";
    if (!group.valid()) fail(path, "cannot create " + where);
    write_dataset(path, group.get(), where, "position",
                  {static_cast<hsize_t>(t.frames), static_cast<hsize_t>(t.particles), static_cast<hsize_t>(t.dim)},
                  H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, t.position.data());
    write_dataset(path, group.get(), where, "particle_type", {static_cast<hsize_t>(t.particles)}, H5T_STD_I32LE,
                  H5T_NATIVE_INT32, t.particle_type.data());
  }
  if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) fail(path, "cannot write file");
}

std::vector<std::string> lagrangebench_split_sources(const std::string& folder, const std::string& split) {
  const std::string path = (std::filesystem::path(folder) / (split + ".h5")).string();
  std::vector<std::string> out;
  for (const std::string& name : lagrangebench_trajectory_names(path)) out.push_back(path + "#" + name);
  if (out.empty()) fail(path, "holds no trajectory groups");
  return out;
}

bool split_lagrangebench_source(const std::string& source, std::string* h5_path, std::string* name) {
  const std::size_t at = source.rfind(".h5#");
  if (at == std::string::npos || at + 4 >= source.size()) return false;
  if (h5_path) *h5_path = source.substr(0, at + 3);
  if (name) *name = source.substr(at + 4);
  return true;
}

Sequence read_lagrangebench_sequence(const std::string& source) {
  std::string path, name;
  if (!split_lagrangebench_source(source, &path, &name))
    throw std::invalid_argument("read_lagrangebench_sequence: expected FILE.h5#TRAJECTORY, got '" + source + "'");
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  const LagrangeBenchMetadata meta = read_lagrangebench_metadata((folder / "metadata.json").string());
  const LagrangeBenchTrajectory t = read_lagrangebench_trajectory(path, name);
  if (t.dim != meta.dim)
    fail(path, "group '" + name + "': position has dim " + std::to_string(t.dim) + ", metadata.json says " +
                   std::to_string(meta.dim));
  if (t.frames < 2) fail(path, "group '" + name + "': " + std::to_string(t.frames) + " frames, need at least 2");
  const std::vector<double> box = meta.periodic_box();
  const double dt = meta.frame_dt();
  const std::size_t n = static_cast<std::size_t>(t.particles), d = static_cast<std::size_t>(t.dim);
  auto coord = [&](std::int64_t f, std::size_t i, std::size_t k) {
    return static_cast<double>(t.position[(static_cast<std::size_t>(f) * n + i) * d + k]);
  };
  Sequence seq;
  const std::string scene = std::filesystem::path(path).stem().string() + "/" + name;
  for (std::int64_t f = 0; f < t.frames; ++f) {
    Frame fr;
    fr.frame_id = f;
    fr.scene_id = scene;
    fr.pos.assign(3 * n, 0.0f);
    fr.vel.assign(3 * n, 0.0f);
    fr.mass.assign(n, 1.0f);
    fr.viscosity.assign(n, 0.0f);
    const std::int64_t a = f == 0 ? 0 : f - 1, b = f == 0 ? 1 : f;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t k = 0; k < d; ++k) {
        fr.pos[3 * i + k] = static_cast<float>(coord(f, i, k));
        double disp = coord(b, i, k) - coord(a, i, k);
        if (!box.empty()) disp -= box[k] * std::round(disp / box[k]);
        fr.vel[3 * i + k] = static_cast<float>(disp / dt);
      }
    seq.frames.push_back(std::move(fr));
  }
  return seq;
}

}  // namespace lagrad
