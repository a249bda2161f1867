#pragma once
// 8-bit RGB PNG files through libpng's simplified API.
#include <string>

#include "../render/point_renderer.h"

namespace lagrad {

// Writes atomically (a temporary beside `path`, then rename). Throws std::invalid_argument for an
// image whose buffer does not match its size, std::runtime_error naming the path on failure.
void write_png(const std::string& path, const RgbImage& image);
// Reads any PNG libpng reads, converted to 8-bit RGB. Throws std::runtime_error naming the path.
RgbImage read_png(const std::string& path);

}  // namespace lagrad
