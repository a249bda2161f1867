#pragma once
// ZipReader: the entries of a zip archive as torch.save writes them (PyTorch >= 1.6).
//
// Only stored (uncompressed) entries can be read; a deflated entry throws an "unsupported
// compression" error. PyTorch writes sizes and CRCs in data descriptors (the local headers hold
// zeros) and pads local headers with extra fields, so the central directory is the index we
// trust; the local header only tells where the data starts. Zip64 end records are understood.
// Every read checks the entry's CRC-32. All errors are std::runtime_error naming the file and,
// where there is one, the entry.
#include <cstdint>
#include <string>
#include <vector>

namespace lagrad {

struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  // 0 stored, 8 deflate, ...
  std::uint16_t flags = 0;
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t size = 0;
  std::uint64_t local_header_offset = 0;
};

class ZipReader {
 public:
  // Opens the file and reads its central directory.
  explicit ZipReader(std::string path);

  const std::string& path() const { return path_; }
  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;  // nullptr when absent

  // The entry's bytes, CRC-checked.
  std::vector<std::uint8_t> read(const std::string& name) const;
  std::vector<std::uint8_t> read(const ZipEntry& entry) const;

 private:
  std::string path_;
  std::uint64_t file_size_ = 0;
  std::vector<ZipEntry> entries_;
};

}  // namespace lagrad
