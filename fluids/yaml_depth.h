#pragma once
// yaml-cpp parses nested flow collections ([..], {..}) recursively: a file nested a million
// deep overflows the stack. Readers check the text first and refuse anything deeper than a limit.
#include <string>

namespace lagrad {

// Throws std::invalid_argument "<what>: nested deeper than <max_depth> levels" when unquoted
// brackets nest deeper than `max_depth`.
void check_yaml_depth(const std::string& text, int max_depth, const std::string& what);

}  // namespace lagrad
