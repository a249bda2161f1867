#pragma once
// Writing a file so that no reader, and no crash, ever sees half of it.
#include <initializer_list>
#include <string>
#include <string_view>

namespace lagrad {

// Writes the concatenation of `parts` to a temporary file beside `path` (unique per process
// and call), flushes it (and fsyncs it when `durable`), then renames it over `path`: readers
// see the old file or the complete new one. On any failure the temporary is removed and
// std::runtime_error says "<what>: cannot write '<path>': <reason>".
void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> parts,
                           const std::string& what, bool durable = true);

}  // namespace lagrad
