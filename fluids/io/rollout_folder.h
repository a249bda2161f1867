#pragma once
// The files a rollout (`lagrad run`) owns in its output folder: boundary.ply, fluid_NNNN.ply (one
// per frame) and rollout.msgpack.zst. Other files in the folder are not the rollout's.
#include <string>
#include <vector>

namespace lagrad {

// "fluid_0007.ply" for frame 7 (at least four digits).
std::string rollout_frame_name(int frame);
// Whether `filename` (no folder) is one of a rollout's files.
bool is_rollout_file(const std::string& filename);
// The rollout files in `folder`, sorted by name; empty when the folder does not exist.
std::vector<std::string> rollout_files(const std::string& folder);
// Removes the rollout files of `folder` and nothing else; returns how many. Throws
// std::runtime_error naming the file when one cannot be removed.
size_t remove_rollout_files(const std::string& folder);

}  // namespace lagrad
