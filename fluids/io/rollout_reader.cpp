#include "fluids/io/rollout_reader.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "fluids/dataset_file.h"
#include "fluids/io/rollout_folder.h"
#include "fluids/ply_writer.h"

namespace lagrad {

namespace fs = std::filesystem;

RolloutReader::RolloutReader(const std::string& path) {
  if (fs::is_directory(path)) {
    std::vector<std::pair<long, std::string>> frames;
    for (const std::string& name : rollout_files(path))
      if (lagrad::frame_number(name) >= 0) frames.emplace_back(lagrad::frame_number(name), (fs::path(path) / name).string());
    std::sort(frames.begin(), frames.end());
    if (frames.empty())
      throw std::runtime_error("'" + path + "' holds no rollout frames (fluid_NNNN.ply, as `lagrad run` writes them)");
    for (auto& f : frames) ply_frames_.push_back(std::move(f.second));
    const fs::path boundary = fs::path(path) / "boundary.ply";
    if (fs::exists(boundary)) read_ply(boundary.string(), boundary_);
    return;
  }
  if (!fs::exists(path)) throw std::runtime_error("'" + path + "' does not exist");
  sequence_ = read_dataset_file(path);
  boundary_ = sequence_.box;
}

int RolloutReader::num_frames() const {
  return static_cast<int>(ply_frames_.empty() ? sequence_.frames.size() : ply_frames_.size());
}

long RolloutReader::frame_number(int i) const {
  if (ply_frames_.empty()) return i;
  return lagrad::frame_number(fs::path(ply_frames_.at(static_cast<size_t>(i))).filename().string());
}

void RolloutReader::read(int i, std::vector<float>& pos, std::vector<float>& vel) const {
  if (i < 0 || i >= num_frames())
    throw std::out_of_range("RolloutReader: frame " + std::to_string(i) + " of " + std::to_string(num_frames()));
  if (!ply_frames_.empty()) {
    read_ply(ply_frames_[static_cast<size_t>(i)], pos, &vel);
    return;
  }
  const Frame& f = sequence_.frames[static_cast<size_t>(i)];
  pos = f.pos;
  vel = f.vel;
}

}  // namespace lagrad
