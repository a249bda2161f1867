#include "fluids/sph/scene_json.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "core/read_file.h"
#include "fluids/sph/obj_sampling.h"
#include "fluids/yaml_depth.h"

namespace lagrad::sph {
namespace {

// Limits (docs/user_guide.md, "Limits").
constexpr int kMaxFrame = 1 << 24;  // emitter start/stop
constexpr int kMaxSceneDepth = 32;  // a scene nests 3 deep
constexpr std::uint64_t kMaxSceneBytes = 1 << 20;

struct Context {
  std::string file;
  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw std::runtime_error("scene '" + file + "': " + where + ": " + what);
  }
};

std::string get_string(const Context& ctx, const YAML::Node& node, const std::string& where, const char* key) {
  const YAML::Node v = node[key];
  if (!v) ctx.fail(where, std::string("missing key '") + key + "'");
  if (!v.IsScalar()) ctx.fail(where + "." + key, "expected a string");
  return v.as<std::string>();
}

Eigen::Vector3f get_vec3(const Context& ctx, const YAML::Node& node, const std::string& where, const char* key,
                         const Eigen::Vector3f& fallback) {
  const YAML::Node v = node[key];
  if (!v) return fallback;
  if (!v.IsSequence() || v.size() != 3) ctx.fail(where + "." + key, "expected a list of 3 numbers");
  Eigen::Vector3f out;
  try {
    for (int c = 0; c < 3; ++c) out[c] = v[c].as<float>();
  } catch (const YAML::Exception&) {
    ctx.fail(where + "." + key, "expected a list of 3 numbers");
  }
  for (int c = 0; c < 3; ++c)
    if (!(std::abs(out[c]) <= kMaxCoordinate))  // also NaN
      ctx.fail(where + "." + key, "expected finite numbers within +-" + std::to_string(int(kMaxCoordinate)));
  return out;
}

template <class T>
T get_number(const Context& ctx, const YAML::Node& node, const std::string& where, const char* key, T fallback) {
  const YAML::Node v = node[key];
  if (!v) return fallback;
  try {
    return v.as<T>();
  } catch (const YAML::Exception&) {
    ctx.fail(where + "." + key, "expected a number");
  }
}

std::string resolve(const std::string& base_dir, const std::string& path) {
  const std::filesystem::path p(path);
  return p.is_absolute() ? path : (std::filesystem::path(base_dir) / p).string();
}

}  // namespace

SceneSetup load_scene_json(const std::string& path, float particle_radius) {
  const Context ctx{path};
  YAML::Node root;
  const std::string text = read_file_bytes(path, "scene", kMaxSceneBytes);
  try {
    check_yaml_depth(text, kMaxSceneDepth, "scene '" + path + "'");
    root = YAML::Load(text);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  } catch (const YAML::Exception& e) {
    throw std::runtime_error("scene '" + path + "': not valid JSON: " + e.what());
  }
  if (!root.IsMap()) ctx.fail("root", "expected an object with 'walls' and 'fluids'");
  const std::string dir = std::filesystem::path(path).parent_path().string();
  SceneSetup scene;
  scene.viscosity = get_number<float>(ctx, root, "root", "viscosity", scene.viscosity);
  scene.density = get_number<float>(ctx, root, "root", "density", scene.density);
  if (!(scene.viscosity >= 0 && scene.viscosity < 1e6f)) ctx.fail("root.viscosity", "expected a number in [0, 1e6)");
  if (!(scene.density > 0 && scene.density < 1e6f)) ctx.fail("root.density", "expected a number in (0, 1e6)");

  const YAML::Node walls = root["walls"];
  if (walls && !walls.IsSequence()) ctx.fail("walls", "expected a list");
  for (size_t i = 0; walls && i < walls.size(); ++i) {
    const std::string where = "walls[" + std::to_string(i) + "]";
    const YAML::Node w = walls[i];
    if (!w.IsMap()) ctx.fail(where, "expected an object");
    const std::string obj = resolve(dir, get_string(ctx, w, where, "path"));
    TriangleMesh mesh;
    try {
      mesh = load_obj(obj);
    } catch (const std::exception& e) {
      ctx.fail(where, e.what());
    }
    mesh.transform(1.0f, get_vec3(ctx, w, where, "translation", Eigen::Vector3f::Zero()));
    bool invert = false;
    if (const YAML::Node v = w["invert_normals"]) {
      try {
        invert = v.as<bool>();
      } catch (const YAML::Exception&) {
        ctx.fail(where + ".invert_normals", "expected true or false");
      }
    }
    try {
      scene.walls.append(sample_surface(mesh, particle_radius, /*seed=*/i, invert));
    } catch (const std::invalid_argument& e) {
      ctx.fail(where, e.what());
    }
  }

  const YAML::Node fluids = root["fluids"];
  if (!fluids) ctx.fail("root", "missing key 'fluids'");
  if (!fluids.IsSequence()) ctx.fail("fluids", "expected a list");
  for (size_t i = 0; i < fluids.size(); ++i) {
    const std::string where = "fluids[" + std::to_string(i) + "]";
    const YAML::Node f = fluids[i];
    if (!f.IsMap()) ctx.fail(where, "expected an object");
    const std::string obj = resolve(dir, get_string(ctx, f, where, "path"));
    TriangleMesh mesh;
    try {
      mesh = load_obj(obj);
    } catch (const std::exception& e) {
      ctx.fail(where, e.what());
    }
    mesh.transform(1.0f, get_vec3(ctx, f, where, "translation", Eigen::Vector3f::Zero()));
    FluidSource src;
    try {
      src.positions = sample_volume(mesh, 2.0f * particle_radius);
    } catch (const std::invalid_argument& e) {
      ctx.fail(where, e.what());
    }
    if (src.positions.empty()) ctx.fail(where, "the mesh '" + obj + "' holds no fluid particles");
    const Eigen::Vector3f v = get_vec3(ctx, f, where, "velocity", Eigen::Vector3f::Zero());
    src.velocities.resize(src.positions.size());
    for (size_t k = 0; k < src.velocities.size(); ++k) src.velocities[k] = v[k % 3];
    // Frame numbers stay far from INT_MAX so that start + 1 and frame arithmetic cannot overflow.
    src.start = get_number<int>(ctx, f, where, "start", 0);
    if (src.start < 0 || src.start > kMaxFrame)
      ctx.fail(where, "expected 0 <= start <= " + std::to_string(kMaxFrame) + ", got start " + std::to_string(src.start));
    src.stop = get_number<int>(ctx, f, where, "stop", src.start + 1);
    src.step = get_number<int>(ctx, f, where, "step", 1);
    if (src.start < 0 || src.step < 1 || src.stop < src.start || src.stop > kMaxFrame)
      ctx.fail(where, "expected 0 <= start <= stop and step >= 1, got start " + std::to_string(src.start) +
                          ", stop " + std::to_string(src.stop) + ", step " + std::to_string(src.step));
    scene.fluids.push_back(std::move(src));
  }
  // The rules every user of a scene shares (generate --scene, run --scene): SceneSetup's own.
  try {
    scene.validate();
  } catch (const std::invalid_argument& e) {
    std::string what = e.what();
    const std::string prefix = "SceneSetup: ";
    if (what.rfind(prefix, 0) == 0) what = what.substr(prefix.size());
    ctx.fail("root", what);
  }
  return scene;
}

}  // namespace lagrad::sph
