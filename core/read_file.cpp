#include "core/read_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace lagrad {

namespace {
[[noreturn]] void fail(const std::string& path, const std::string& what, const std::string& reason) {
  throw std::runtime_error(what + " '" + path + "': " + reason);
}
}  // namespace

void require_regular_file(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail(path, what, std::string("cannot open (") + std::strerror(errno) + ")");
  if (S_ISDIR(st.st_mode)) fail(path, what, "is a directory, expected a file");
  if (!S_ISREG(st.st_mode)) fail(path, what, "is not a regular file");
}

std::string read_file_bytes(const std::string& path, const std::string& what, std::uint64_t max_bytes) {
  require_regular_file(path, what);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) fail(path, what, std::string("cannot open (") + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(::fileno(f.get()), &st) != 0) fail(path, what, std::string("cannot stat (") + std::strerror(errno) + ")");
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes)
    fail(path, what, "is " + std::to_string(size) + " bytes, more than the limit of " + std::to_string(max_bytes));
  std::string bytes(static_cast<size_t>(size), '\0');
  const size_t got = size ? std::fread(&bytes[0], 1, bytes.size(), f.get()) : 0;
  if (std::ferror(f.get())) fail(path, what, std::string("read error (") + std::strerror(errno) + ")");
  bytes.resize(got);  // the file may have shrunk meanwhile; the parser then sees a truncation
  return bytes;
}

}  // namespace lagrad
