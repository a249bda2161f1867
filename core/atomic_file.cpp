#include "core/atomic_file.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace lagrad {

void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> parts,
                           const std::string& what, bool durable) {
  static std::atomic<unsigned> counter{0};
  const std::string tmp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  auto fail = [&](const std::string& reason) {
    std::remove(tmp.c_str());
    throw std::runtime_error(what + ": cannot write '" + path + "': " + reason);
  };
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) fail("cannot create '" + tmp + "' (" + std::strerror(errno) + ")");
  bool ok = true;
  for (std::string_view p : parts) ok = ok && std::fwrite(p.data(), 1, p.size(), f) == p.size();
  ok = ok && std::fflush(f) == 0;
  if (durable) ok = ok && ::fsync(::fileno(f)) == 0;
  const int err = errno;
  if (std::fclose(f) != 0 || !ok) fail(std::string("write failed (") + std::strerror(err) + ")");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(std::string("rename failed (") + std::strerror(errno) + ")");
}

}  // namespace lagrad
