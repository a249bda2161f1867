#pragma once
// The files a rollout (`lagrad run`) owns in its output folder: boundary.ply, fluid_NNNN.ply (one
// per frame) and rollout.msgpack.zst; and the pictures `lagrad render` draws of it,
// frame_NNNN.png. Other files in the folder are neither's.
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

// "frame_0007.png" for frame 7 (at least four digits).
std::string rendered_frame_name(int frame);
bool is_rendered_frame(const std::string& filename);
// The rendered frames in `folder`, sorted by name; empty when the folder does not exist.
std::vector<std::string> rendered_frames(const std::string& folder);
// Removes the rendered frames of `folder` and nothing else; returns how many.
size_t remove_rendered_frames(const std::string& folder);
// The frame number of a fluid_NNNN.ply or frame_NNNN.png name (-1 for other names).
long frame_number(const std::string& filename);

}  // namespace lagrad
