#include "fluids/io/png_file.h"

#include <png.h>

#include <cstring>
#include <stdexcept>
#include <string_view>

#include "core/atomic_file.h"

namespace lagrad {

void write_png(const std::string& path, const RgbImage& img) {
  if (img.width < 1 || img.height < 1 || img.rgb.size() != static_cast<size_t>(img.width) * img.height * 3)
    throw std::invalid_argument("write_png: '" + path + "': image of " + std::to_string(img.width) + " x " +
                                std::to_string(img.height) + " pixels has " + std::to_string(img.rgb.size()) +
                                " bytes, expected width * height * 3");
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(img.width);
  image.height = static_cast<png_uint_32>(img.height);
  image.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  // First call sizes the buffer, the second fills it.
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, img.rgb.data(), 0, nullptr))
    throw std::runtime_error("write_png: cannot encode '" + path + "': " + image.message);
  std::string bytes(size, '\0');
  if (!png_image_write_to_memory(&image, bytes.data(), &size, 0, img.rgb.data(), 0, nullptr))
    throw std::runtime_error("write_png: cannot encode '" + path + "': " + image.message);
  bytes.resize(size);
  write_file_atomically(path, {std::string_view(bytes)}, "write_png", /*durable=*/false);
}

RgbImage read_png(const std::string& path) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str()))
    throw std::runtime_error("read_png: '" + path + "': " + image.message);
  image.format = PNG_FORMAT_RGB;
  RgbImage img;
  img.width = static_cast<int>(image.width);
  img.height = static_cast<int>(image.height);
  img.rgb.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, img.rgb.data(), 0, nullptr)) {
    const std::string message = image.message;
    png_image_free(&image);
    throw std::runtime_error("read_png: '" + path + "': " + message);
  }
  return img;
}

}  // namespace lagrad
