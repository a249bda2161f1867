#include "fluids/ply_writer.h"

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/atomic_file.h"

namespace lagrad {

void write_ply(const std::string& path, const PlyPoints& p) {
  if (!p.positions || p.positions->size() % 3 != 0)
    throw std::invalid_argument("write_ply: positions must be [n, 3]");
  const size_t n = p.positions->size() / 3;
  for (auto* extra : {p.velocities, p.normals})
    if (extra && extra->size() != 3 * n)
      throw std::invalid_argument("write_ply: velocities/normals must be [" + std::to_string(n) + ", 3], got " +
                                  std::to_string(extra->size()) + " values");
  std::ostringstream header;
  header << "ply\nformat binary_little_endian 1.0\ncomment written by lagrad\nelement vertex " << n
         << "\nproperty float x\nproperty float y\nproperty float z\n";
  if (p.velocities) header << "property float vx\nproperty float vy\nproperty float vz\n";
  if (p.normals) header << "property float nx\nproperty float ny\nproperty float nz\n";
  header << "end_header\n";
  const size_t per = 3 * (1 + (p.velocities ? 1 : 0) + (p.normals ? 1 : 0));
  std::vector<float> body(n * per);
  for (size_t i = 0; i < n; ++i) {
    float* dst = &body[i * per];
    std::memcpy(dst, &(*p.positions)[3 * i], 3 * sizeof(float));
    dst += 3;
    if (p.velocities) {
      std::memcpy(dst, &(*p.velocities)[3 * i], 3 * sizeof(float));
      dst += 3;
    }
    if (p.normals) std::memcpy(dst, &(*p.normals)[3 * i], 3 * sizeof(float));
  }
  // x86 and ARM are little-endian; the floats are written as they are in memory.
  // Frames are cheap to regenerate: atomic, but not fsynced (a rollout writes hundreds).
  const std::string h = header.str();
  write_file_atomically(path,
                        {h, std::string_view(reinterpret_cast<const char*>(body.data()), body.size() * sizeof(float))},
                        "write_ply", /*durable=*/false);
}

void read_ply(const std::string& path, std::vector<float>& positions, std::vector<float>* velocities) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("read_ply: cannot open '" + path + "'");
  std::string line;
  size_t n = 0, props = 0;
  bool has_vel = false, binary = false;
  while (std::getline(in, line)) {
    if (line.rfind("format binary_little_endian", 0) == 0) binary = true;
    if (line.rfind("element vertex ", 0) == 0) n = std::stoul(line.substr(15));
    if (line.rfind("property float ", 0) == 0) {
      ++props;
      has_vel |= line == "property float vx";
    }
    if (line == "end_header") break;
  }
  if (!binary || props < 3) throw std::runtime_error("read_ply: '" + path + "' is not a binary little-endian point PLY");
  std::vector<float> body(n * props);
  in.read(reinterpret_cast<char*>(body.data()), static_cast<std::streamsize>(body.size() * sizeof(float)));
  if (static_cast<size_t>(in.gcount()) != body.size() * sizeof(float))
    throw std::runtime_error("read_ply: '" + path + "' is truncated");
  positions.resize(3 * n);
  if (velocities) velocities->assign(has_vel ? 3 * n : 0, 0.0f);
  for (size_t i = 0; i < n; ++i) {
    for (int k = 0; k < 3; ++k) positions[3 * i + k] = body[i * props + k];
    if (velocities && has_vel)
      for (int k = 0; k < 3; ++k) (*velocities)[3 * i + k] = body[i * props + 3 + k];
  }
}

}  // namespace lagrad
