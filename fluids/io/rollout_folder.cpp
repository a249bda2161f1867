#include "fluids/io/rollout_folder.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace lagrad {

namespace fs = std::filesystem;

namespace {

// Whether f is prefix + at least four digits + suffix.
bool numbered(const std::string& f, const std::string& prefix, const std::string& suffix) {
  if (f.size() < prefix.size() + 4 + suffix.size() || f.compare(0, prefix.size(), prefix) != 0 ||
      f.compare(f.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  const std::string digits = f.substr(prefix.size(), f.size() - prefix.size() - suffix.size());
  return std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string numbered_name(const char* format, int frame) {
  char name[48];
  std::snprintf(name, sizeof name, format, frame);
  return name;
}

std::vector<std::string> files_in(const std::string& folder, bool (*owned)(const std::string&)) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return out;
  for (const auto& e : fs::directory_iterator(folder)) {
    const std::string name = e.path().filename().string();
    if (owned(name) && !e.is_directory()) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

size_t remove_files(const std::string& folder, const std::vector<std::string>& files) {
  for (const auto& name : files) {
    std::error_code ec;
    fs::remove(fs::path(folder) / name, ec);
    if (ec) throw std::runtime_error("cannot remove '" + (fs::path(folder) / name).string() + "': " + ec.message());
  }
  return files.size();
}

}  // namespace

std::string rollout_frame_name(int frame) { return numbered_name("fluid_%04d.ply", frame); }

bool is_rollout_file(const std::string& f) {
  return f == "boundary.ply" || f == "rollout.msgpack.zst" || numbered(f, "fluid_", ".ply");
}

std::vector<std::string> rollout_files(const std::string& folder) { return files_in(folder, is_rollout_file); }

size_t remove_rollout_files(const std::string& folder) { return remove_files(folder, rollout_files(folder)); }

std::string rendered_frame_name(int frame) { return numbered_name("frame_%04d.png", frame); }

bool is_rendered_frame(const std::string& f) { return numbered(f, "frame_", ".png"); }

std::vector<std::string> rendered_frames(const std::string& folder) { return files_in(folder, is_rendered_frame); }

size_t remove_rendered_frames(const std::string& folder) { return remove_files(folder, rendered_frames(folder)); }

long frame_number(const std::string& f) {
  for (const auto& [prefix, suffix] : {std::pair<std::string, std::string>{"fluid_", ".ply"}, {"frame_", ".png"}})
    if (numbered(f, prefix, suffix)) return std::stol(f.substr(prefix.size(), f.size() - prefix.size() - suffix.size()));
  return -1;
}

}  // namespace lagrad
