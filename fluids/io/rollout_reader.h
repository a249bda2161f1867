#pragma once
// Reads a rollout frame by frame, from either of its two forms: a folder of PLY frames written by
// `lagrad run` (boundary.ply, fluid_NNNN.ply) or a dataset file (.msgpack.zst: a rollout written
// with --write-dataset, or simulator data).
#include <string>
#include <vector>

#include "../frame.h"

namespace lagrad {

class RolloutReader {
 public:
  // Throws std::runtime_error when `path` is neither a folder with fluid_*.ply frames nor a
  // readable dataset file.
  explicit RolloutReader(const std::string& path);
  int num_frames() const;
  // The frame's number as its file names it (PLY folders may start anywhere), or its index.
  long frame_number(int i) const;
  // Static boundary particles (empty when the rollout has none).
  const std::vector<float>& boundary() const { return boundary_; }
  // Positions and velocities [n, 3] of frame i (vel is empty when the frame has none).
  void read(int i, std::vector<float>& pos, std::vector<float>& vel) const;

 private:
  std::vector<std::string> ply_frames_;  // full paths, in frame order
  Sequence sequence_;                    // the dataset file's frames
  std::vector<float> boundary_;
};

}  // namespace lagrad
