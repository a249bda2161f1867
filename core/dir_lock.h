#pragma once
// An exclusive advisory lock (flock) on a directory, held for the lifetime of the object.
// The kernel releases it when the process dies, so a kill -9 never leaves a stale lock.
#include <string>

namespace lagrad {

class DirLock {
 public:
  DirLock() = default;
  // Locks `dir` (which must exist) without waiting. Throws std::runtime_error
  // "<what>: '<dir>' is in use by another lagrad process" when another process holds it.
  DirLock(const std::string& dir, const std::string& what);
  ~DirLock();
  DirLock(DirLock&& other) noexcept;
  DirLock& operator=(DirLock&& other) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  bool locked() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace lagrad
