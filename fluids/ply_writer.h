#pragma once
// Binary little-endian PLY point clouds (readable by Open3D, ParaView, Blender, MeshLab):
// vertices with float x, y, z and optionally float vx, vy, vz (velocity) and nx, ny, nz.
#include <string>
#include <vector>

namespace lagrad {

struct PlyPoints {
  const std::vector<float>* positions = nullptr;   // [n, 3], required
  const std::vector<float>* velocities = nullptr;  // [n, 3] or null
  const std::vector<float>* normals = nullptr;     // [n, 3] or null
};

// Writes atomically (temporary file + rename). Throws std::invalid_argument for mismatched
// sizes, std::runtime_error naming the path on I/O failure.
void write_ply(const std::string& path, const PlyPoints& points);

// Reads the vertex x, y, z (and vx, vy, vz if present) of a binary little-endian PLY written by
// write_ply. For tests and tools; not a general PLY reader.
void read_ply(const std::string& path, std::vector<float>& positions, std::vector<float>* velocities = nullptr);

}  // namespace lagrad
