#include "fluids/sph/obj_sampling.h"

#include <tiny_obj_loader.h>

#include <Eigen/Geometry>

#include <algorithm>
#include <filesystem>
#include <cctype>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <unordered_map>

#include "core/random.h"

namespace lagrad::sph {
namespace {

Eigen::Vector3f vertex(const TriangleMesh& m, int v) {
  return Eigen::Vector3f(m.vertices[3 * v], m.vertices[3 * v + 1], m.vertices[3 * v + 2]);
}

// Unnormalized face normal (b - a) x (c - a): its length is twice the triangle's area.
Eigen::Vector3f face_cross(const TriangleMesh& m, Index t) {
  const Eigen::Vector3f a = vertex(m, m.triangles[3 * t]);
  const Eigen::Vector3f b = vertex(m, m.triangles[3 * t + 1]);
  const Eigen::Vector3f c = vertex(m, m.triangles[3 * t + 2]);
  return (b - a).cross(c - a);
}

TriangleMesh mesh_from_reader(const tinyobj::ObjReader& reader, const std::string& name) {
  if (!reader.Valid()) {
    std::string why = reader.Error();  // tinyobjloader ends its messages with a newline
    while (!why.empty() && std::isspace(static_cast<unsigned char>(why.back()))) why.pop_back();
    throw std::runtime_error("OBJ '" + name + "': " + (why.empty() ? std::string("cannot be read") : why));
  }
  TriangleMesh mesh;
  const auto& verts = reader.GetAttrib().vertices;
  for (size_t i = 0; i < verts.size(); ++i)
    if (!(std::abs(verts[i]) <= kMaxCoordinate))  // also NaN
      throw std::runtime_error("OBJ '" + name + "': vertex " + std::to_string(i / 3 + 1) + " has coordinate " +
                               std::to_string(verts[i]) + ", outside [-" + std::to_string(int(kMaxCoordinate)) +
                               ", " + std::to_string(int(kMaxCoordinate)) + "] (or not a number)");
  mesh.vertices.assign(verts.begin(), verts.end());
  const int nv = static_cast<int>(verts.size() / 3);
  for (const auto& shape : reader.GetShapes()) {
    size_t offset = 0;
    for (unsigned char fv : shape.mesh.num_face_vertices) {
      if (fv == 3) {
        for (int k = 0; k < 3; ++k) {
          const int v = shape.mesh.indices[offset + k].vertex_index;
          if (v < 0 || v >= nv)
            throw std::runtime_error("OBJ '" + name + "': face of shape '" + shape.name +
                                     "' refers to vertex " + std::to_string(v + 1) + " of " +
                                     std::to_string(nv));
          mesh.triangles.push_back(v);
        }
      }
      offset += fv;
    }
  }
  if (mesh.triangles.empty()) throw std::runtime_error("OBJ '" + name + "': no triangles");
  return mesh;
}

// Grid hash for the Poisson-disk thinning: cells of the disk radius, so a conflict can only
// come from the 27 cells around a point.
struct PointHash {
  float cell;
  std::unordered_map<std::int64_t, std::vector<int>> cells;
  static std::int64_t key(std::int64_t x, std::int64_t y, std::int64_t z) {
    return (x & 0x1FFFFF) | ((y & 0x1FFFFF) << 21) | ((z & 0x1FFFFF) << 42);
  }
  void cell_of(const float* p, std::int64_t c[3]) const {
    for (int k = 0; k < 3; ++k) c[k] = static_cast<std::int64_t>(std::floor(p[k] / cell));
  }
};

// Greedy Poisson-disk thinning of `cand` ([m, 3]) with radius `r`: a candidate is kept when no
// kept point is closer than r. Returns the kept indices in candidate order.
std::vector<int> poisson_thin(const std::vector<float>& cand, float r) {
  PointHash hash{r, {}};
  std::vector<int> kept;
  const float r2 = r * r;
  const int m = static_cast<int>(cand.size() / 3);
  for (int i = 0; i < m; ++i) {
    const float* p = &cand[3 * i];
    std::int64_t c[3];
    hash.cell_of(p, c);
    bool free = true;
    for (int dx = -1; dx <= 1 && free; ++dx)
      for (int dy = -1; dy <= 1 && free; ++dy)
        for (int dz = -1; dz <= 1 && free; ++dz) {
          auto it = hash.cells.find(PointHash::key(c[0] + dx, c[1] + dy, c[2] + dz));
          if (it == hash.cells.end()) continue;
          for (int j : it->second) {
            const float* q = &cand[3 * j];
            const float d0 = p[0] - q[0], d1 = p[1] - q[1], d2 = p[2] - q[2];
            if (d0 * d0 + d1 * d1 + d2 * d2 < r2) {
              free = false;
              break;
            }
          }
        }
    if (!free) continue;
    hash.cells[PointHash::key(c[0], c[1], c[2])].push_back(i);
    kept.push_back(i);
  }
  return kept;
}

}  // namespace

float TriangleMesh::area() const {
  double a = 0;
  for (Index t = 0; t < num_triangles(); ++t) a += 0.5 * face_cross(*this, t).norm();
  return static_cast<float>(a);
}

float TriangleMesh::volume() const {
  double v = 0;
  for (Index t = 0; t < num_triangles(); ++t) {
    const Eigen::Vector3d a = vertex(*this, triangles[3 * t]).cast<double>();
    const Eigen::Vector3d b = vertex(*this, triangles[3 * t + 1]).cast<double>();
    const Eigen::Vector3d c = vertex(*this, triangles[3 * t + 2]).cast<double>();
    v += a.dot(b.cross(c)) / 6.0;
  }
  return static_cast<float>(v);
}

void TriangleMesh::bounds(Eigen::Vector3f& lo, Eigen::Vector3f& hi) const {
  lo.setConstant(std::numeric_limits<float>::infinity());
  hi.setConstant(-std::numeric_limits<float>::infinity());
  for (Index v = 0; v < num_vertices(); ++v)
    for (int c = 0; c < 3; ++c) {
      lo[c] = std::min(lo[c], vertices[3 * v + c]);
      hi[c] = std::max(hi[c], vertices[3 * v + c]);
    }
}

void TriangleMesh::transform(float scale, const Eigen::Vector3f& t) {
  for (size_t i = 0; i < vertices.size(); i += 3)
    for (int c = 0; c < 3; ++c) vertices[i + c] = scale * vertices[i + c] + t[c];
}

TriangleMesh load_obj(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw std::runtime_error("OBJ '" + path + "': is a directory, expected a file");
  tinyobj::ObjReaderConfig config;
  config.triangulate = true;
  tinyobj::ObjReader reader;
  reader.ParseFromFile(path, config);
  return mesh_from_reader(reader, path);
}

TriangleMesh parse_obj(const std::string& text, const std::string& name) {
  tinyobj::ObjReaderConfig config;
  config.triangulate = true;
  tinyobj::ObjReader reader;
  reader.ParseFromString(text, "", config);
  return mesh_from_reader(reader, name);
}

std::vector<float> sample_volume(const TriangleMesh& mesh, float spacing) {
  if (!(spacing > 0.0f))
    throw std::invalid_argument("sample_volume: spacing must be positive, got " + std::to_string(spacing));
  Eigen::Vector3f lo, hi;
  mesh.bounds(lo, hi);
  // Counted in double before any cast: a huge (or non-finite) extent must fail, not wrap.
  double cells = 1;
  for (int c = 0; c < 3; ++c) cells *= std::max(1.0, std::floor(double(hi[c] - lo[c]) / spacing + 1e-4));
  if (!(cells <= double(kMaxGridPoints)))
    throw std::invalid_argument("sample_volume: the mesh's bounding box holds " + std::to_string(cells) +
                                " grid points at spacing " + std::to_string(spacing) + ", more than the limit of " +
                                std::to_string(kMaxGridPoints) + " (a mesh that large or a spacing that small?)");
  int n[3];
  float start[3];
  for (int c = 0; c < 3; ++c) {
    const float extent = hi[c] - lo[c];
    n[c] = std::max(1, static_cast<int>(std::floor(extent / spacing + 1e-4f)));
    start[c] = lo[c] + 0.5f * (extent - static_cast<float>(n[c] - 1) * spacing);
  }
  // Rays along +x through (y_j, z_k), nudged by a fixed irrational-looking offset.
  const double jy = 1.2345e-4 * spacing, jz = 2.7183e-4 * spacing;
  std::vector<std::vector<double>> crossings(static_cast<size_t>(n[1]) * n[2]);
  for (Index t = 0; t < mesh.num_triangles(); ++t) {
    Eigen::Vector3d p[3];
    for (int k = 0; k < 3; ++k) p[k] = vertex(mesh, mesh.triangles[3 * t + k]).cast<double>();
    const Eigen::Vector3d nrm = (p[1] - p[0]).cross(p[2] - p[0]);
    if (std::abs(nrm.x()) < 1e-14) continue;  // parallel to the rays
    const double ymin = std::min({p[0].y(), p[1].y(), p[2].y()}), ymax = std::max({p[0].y(), p[1].y(), p[2].y()});
    const double zmin = std::min({p[0].z(), p[1].z(), p[2].z()}), zmax = std::max({p[0].z(), p[1].z(), p[2].z()});
    const int j0 = std::max(0, static_cast<int>(std::ceil((ymin - jy - start[1]) / spacing)));
    const int j1 = std::min(n[1] - 1, static_cast<int>(std::floor((ymax - jy - start[1]) / spacing)));
    const int k0 = std::max(0, static_cast<int>(std::ceil((zmin - jz - start[2]) / spacing)));
    const int k1 = std::min(n[2] - 1, static_cast<int>(std::floor((zmax - jz - start[2]) / spacing)));
    for (int j = j0; j <= j1; ++j)
      for (int k = k0; k <= k1; ++k) {
        const double y = start[1] + j * double(spacing) + jy, z = start[2] + k * double(spacing) + jz;
        // Point-in-triangle in the yz projection: all edge functions of one sign.
        double e[3];
        for (int a = 0; a < 3; ++a) {
          const Eigen::Vector3d& u = p[a];
          const Eigen::Vector3d& v = p[(a + 1) % 3];
          e[a] = (v.y() - u.y()) * (z - u.z()) - (v.z() - u.z()) * (y - u.y());
        }
        const bool inside = (e[0] > 0 && e[1] > 0 && e[2] > 0) || (e[0] < 0 && e[1] < 0 && e[2] < 0);
        if (!inside) continue;
        const double x = p[0].x() - (nrm.y() * (y - p[0].y()) + nrm.z() * (z - p[0].z())) / nrm.x();
        crossings[static_cast<size_t>(j) * n[2] + k].push_back(x);
      }
  }
  std::vector<unsigned char> inside(static_cast<size_t>(n[0]) * n[1] * n[2], 0);
  for (int j = 0; j < n[1]; ++j)
    for (int k = 0; k < n[2]; ++k) {
      auto& xs = crossings[static_cast<size_t>(j) * n[2] + k];
      std::sort(xs.begin(), xs.end());
      size_t c = 0;
      for (int i = 0; i < n[0]; ++i) {
        const double x = start[0] + i * double(spacing);
        while (c < xs.size() && xs[c] < x) ++c;
        if (c % 2 == 1) inside[(static_cast<size_t>(i) * n[1] + j) * n[2] + k] = 1;
      }
    }
  std::vector<float> points;
  for (int i = 0; i < n[0]; ++i)
    for (int j = 0; j < n[1]; ++j)
      for (int k = 0; k < n[2]; ++k)
        if (inside[(static_cast<size_t>(i) * n[1] + j) * n[2] + k]) {
          points.push_back(start[0] + i * spacing);
          points.push_back(start[1] + j * spacing);
          points.push_back(start[2] + k * spacing);
        }
  return points;
}

BoundaryParticles sample_surface(const TriangleMesh& mesh, float particle_radius,
                                 std::uint64_t seed, bool invert_normals) {
  if (!(particle_radius > 0.0f))
    throw std::invalid_argument("sample_surface: particle_radius must be positive, got " +
                                std::to_string(particle_radius));
  const Index nt = mesh.num_triangles();
  std::vector<double> cumulative(static_cast<size_t>(nt));
  double total = 0;
  for (Index t = 0; t < nt; ++t) cumulative[t] = total += 0.5 * face_cross(mesh, t).norm();
  if (!(total > 0)) throw std::invalid_argument("sample_surface: the mesh has zero area");
  const double pi = 3.14159265358979323846;
  const double wanted = 1.9 * total / (pi * double(particle_radius) * particle_radius);
  if (!(wanted <= double(kMaxSurfaceParticles)))  // also NaN and infinity, before llround
    throw std::invalid_argument("sample_surface: the mesh's area asks for " + std::to_string(wanted) +
                                " boundary particles, more than the limit of " + std::to_string(kMaxSurfaceParticles));
  const Index target = std::max<Index>(1, std::llround(wanted));

  // Area-uniform random candidates, several per wanted point.
  const Index m = 8 * target;
  Rng rng(seed);
  std::vector<float> cand(3 * static_cast<size_t>(m));
  std::vector<int> cand_tri(static_cast<size_t>(m));
  for (Index i = 0; i < m; ++i) {
    const double u = rng.uniform() * total;
    const Index t = std::min<Index>(nt - 1, std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin());
    float a = rng.uniform(), b = rng.uniform();
    if (a + b > 1.0f) a = 1.0f - a, b = 1.0f - b;
    const Eigen::Vector3f p0 = vertex(mesh, mesh.triangles[3 * t]);
    const Eigen::Vector3f p = p0 + a * (vertex(mesh, mesh.triangles[3 * t + 1]) - p0) +
                              b * (vertex(mesh, mesh.triangles[3 * t + 2]) - p0);
    for (int c = 0; c < 3; ++c) cand[3 * i + c] = p[c];
    cand_tri[i] = static_cast<int>(t);
  }
  // Bisect the disk radius so that the thinned set has about `target` points.
  const double s = std::sqrt(total / static_cast<double>(target));
  double lo = 0.3 * s, hi = 1.5 * s;
  std::vector<int> kept = poisson_thin(cand, static_cast<float>(lo));
  for (int it = 0; it < 20; ++it) {
    const double mid = 0.5 * (lo + hi);
    std::vector<int> k = poisson_thin(cand, static_cast<float>(mid));
    const Index count = static_cast<Index>(k.size());
    const bool close = std::abs(static_cast<double>(count - target)) <= 0.01 * target;
    if (count >= target || close) kept.swap(k);
    if (close) break;
    (count >= target ? lo : hi) = mid;
  }
  BoundaryParticles out;
  const float sign = invert_normals ? 1.0f : -1.0f;
  for (int i : kept) {
    const Eigen::Vector3f nrm = sign * face_cross(mesh, cand_tri[i]).normalized();
    for (int c = 0; c < 3; ++c) {
      out.positions.push_back(cand[3 * i + c]);
      out.normals.push_back(nrm[c]);
    }
  }
  return out;
}

}  // namespace lagrad::sph
