#include "fluids/yaml_depth.h"

#include <stdexcept>

namespace lagrad {

void check_yaml_depth(const std::string& text, int max_depth, const std::string& what) {
  // Conservative: brackets inside block scalars count too, which only matters past the limit.
  int depth = 0;
  char quote = 0;
  bool comment = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') comment = false;
    if (comment) continue;
    if (quote) {
      if (c == '\\' && quote == '"') ++i;
      else if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#') {
      comment = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        throw std::invalid_argument(what + ": nested deeper than " + std::to_string(max_depth) + " levels (at byte " +
                                    std::to_string(i) + ")");
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

}  // namespace lagrad
