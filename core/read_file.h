#pragma once
// Reading a whole input file with errors phrased as lagrad's own, naming the path.
#include <cstdint>
#include <string>

namespace lagrad {

// The bytes of `path`. Throws std::runtime_error "<what> '<path>': <reason>" when it is missing,
// a directory, unreadable, or larger than `max_bytes` (so a wrong path never allocates its size).
std::string read_file_bytes(const std::string& path, const std::string& what,
                            std::uint64_t max_bytes = std::uint64_t{64} << 30);

// Throws the same kind of message when `path` exists but is not a regular file (a directory
// where a file is expected); used before handing a path to a library that would say less.
void require_regular_file(const std::string& path, const std::string& what);

}  // namespace lagrad
