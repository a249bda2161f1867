#include "fluids/io/rollout_folder.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace lagrad {

namespace fs = std::filesystem;

std::string rollout_frame_name(int frame) {
  char name[32];
  std::snprintf(name, sizeof name, "fluid_%04d.ply", frame);
  return name;
}

bool is_rollout_file(const std::string& f) {
  if (f == "boundary.ply" || f == "rollout.msgpack.zst") return true;
  const std::string prefix = "fluid_", suffix = ".ply";
  if (f.size() < prefix.size() + 4 + suffix.size() || f.compare(0, prefix.size(), prefix) != 0 ||
      f.compare(f.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  const std::string digits = f.substr(prefix.size(), f.size() - prefix.size() - suffix.size());
  return std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::vector<std::string> rollout_files(const std::string& folder) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return out;
  for (const auto& e : fs::directory_iterator(folder)) {
    const std::string name = e.path().filename().string();
    if (is_rollout_file(name) && !e.is_directory()) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

size_t remove_rollout_files(const std::string& folder) {
  const std::vector<std::string> files = rollout_files(folder);
  for (const auto& name : files) {
    std::error_code ec;
    fs::remove(fs::path(folder) / name, ec);
    if (ec) throw std::runtime_error("cannot remove '" + (fs::path(folder) / name).string() + "': " + ec.message());
  }
  return files.size();
}

}  // namespace lagrad
