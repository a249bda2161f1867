#include "fluids/zip_reader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "core/crc32.h"

namespace lagrad {

namespace {

constexpr std::uint32_t kLocalHeaderSig = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::size_t kEndSize = 22;
constexpr std::size_t kZip64EndSize = 56;
constexpr std::size_t kZip64LocatorSize = 20;
constexpr std::size_t kCentralHeaderSize = 46;
constexpr std::size_t kLocalHeaderSize = 30;
constexpr std::size_t kMaxComment = 0xFFFF;

// Little-endian field reads from a byte buffer; callers check bounds first.
std::uint16_t u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t u32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint64_t u64(const std::uint8_t* p) {
  return static_cast<std::uint64_t>(u32(p)) | (static_cast<std::uint64_t>(u32(p + 4)) << 32);
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("zip '" + path + "': " + what);
}

std::string hex32(std::uint32_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

std::vector<std::uint8_t> read_at(std::ifstream& in, const std::string& path,
                                  std::uint64_t offset, std::uint64_t size, const char* what) {
  std::vector<std::uint8_t> buf(static_cast<std::size_t>(size));
  in.clear();
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(size));
  if (!in || static_cast<std::uint64_t>(in.gcount()) != size) {
    fail(path, std::string("read error (truncated file?) reading ") + what + " at byte " +
                   std::to_string(offset));
  }
  return buf;
}

std::ifstream open_binary(const std::string& path, std::uint64_t* size) {
  std::error_code ec;  // an ifstream opens a directory and reports its size as 2^63 - 1
  if (std::filesystem::is_directory(path, ec)) fail(path, "is a directory, expected a file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(path, "cannot open file");
  const std::streamoff end = in.tellg();
  if (end < 0) fail(path, "cannot determine the file size");
  *size = static_cast<std::uint64_t>(end);
  return in;
}

// Fills the fields the central header marks 0xFFFF'FFFF from the zip64 extra field (id 1),
// which lists them in a fixed order: size, compressed size, local header offset.
void apply_zip64_extra(const std::string& path, const std::uint8_t* extra, std::size_t len,
                       ZipEntry& e, bool want_size, bool want_csize, bool want_offset) {
  std::size_t pos = 0;
  while (pos + 4 <= len) {
    const std::uint16_t id = u16(extra + pos);
    const std::uint16_t n = u16(extra + pos + 2);
    if (pos + 4 + n > len) break;
    if (id == 1) {
      const std::uint8_t* p = extra + pos + 4;
      std::size_t k = 0;
      auto take = [&](std::uint64_t& field) {
        if (k + 8 > n) fail(path, "entry '" + e.name + "': zip64 extra field too short");
        field = u64(p + k);
        k += 8;
      };
      if (want_size) take(e.size);
      if (want_csize) take(e.compressed_size);
      if (want_offset) take(e.local_header_offset);
      return;
    }
    pos += 4 + n;
  }
  fail(path, "entry '" + e.name + "': 32-bit size field overflows but there is no zip64 extra");
}

}  // namespace

ZipReader::ZipReader(std::string path) : path_(std::move(path)) {
  std::ifstream in = open_binary(path_, &file_size_);
  if (file_size_ < kEndSize) {
    fail(path_, "not a zip archive (only " + std::to_string(file_size_) + " bytes)");
  }

  // The end-of-central-directory record sits before an optional comment of up to 64 KiB.
  const std::uint64_t tail_size = std::min<std::uint64_t>(file_size_, kEndSize + kMaxComment);
  const std::uint64_t tail_start = file_size_ - tail_size;
  const std::vector<std::uint8_t> tail =
      read_at(in, path_, tail_start, tail_size, "the end-of-central-directory record");
  std::size_t end_pos = std::numeric_limits<std::size_t>::max();
  for (std::size_t i = tail.size() - kEndSize + 1; i-- > 0;) {
    if (u32(&tail[i]) == kEndSig && i + kEndSize + u16(&tail[i + 20]) == tail.size()) {
      end_pos = i;
      break;
    }
  }
  if (end_pos == std::numeric_limits<std::size_t>::max()) {
    fail(path_,
         "no end-of-central-directory record: not a zip archive, or the file is truncated");
  }
  const std::uint8_t* end = &tail[end_pos];
  std::uint64_t count = u16(end + 10);
  std::uint64_t cd_size = u32(end + 12);
  std::uint64_t cd_offset = u32(end + 16);
  std::uint64_t cd_limit = tail_start + end_pos;  // the central directory ends before this

  if (count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_offset == 0xFFFFFFFFu) {
    const std::uint64_t abs_end = tail_start + end_pos;
    if (abs_end < kZip64LocatorSize) fail(path_, "zip64 end locator missing");
    const std::vector<std::uint8_t> loc =
        read_at(in, path_, abs_end - kZip64LocatorSize, kZip64LocatorSize, "the zip64 locator");
    if (u32(loc.data()) != kZip64LocatorSig) fail(path_, "zip64 end locator missing");
    const std::uint64_t z64_pos = u64(&loc[8]);
    if (z64_pos + kZip64EndSize > abs_end) fail(path_, "zip64 end record out of range");
    const std::vector<std::uint8_t> z64 =
        read_at(in, path_, z64_pos, kZip64EndSize, "the zip64 end record");
    if (u32(z64.data()) != kZip64EndSig) fail(path_, "bad zip64 end record signature");
    count = u64(&z64[32]);
    cd_size = u64(&z64[40]);
    cd_offset = u64(&z64[48]);
    cd_limit = z64_pos;
  }
  if (cd_offset > cd_limit || cd_size > cd_limit - cd_offset) {
    fail(path_, "central directory [" + std::to_string(cd_offset) + ", +" +
                    std::to_string(cd_size) + ") lies outside the file (truncated or corrupt)");
  }

  const std::vector<std::uint8_t> cd = read_at(in, path_, cd_offset, cd_size, "the central directory");
  std::size_t pos = 0;
  entries_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(count, 1 << 20)));
  for (std::uint64_t i = 0; i < count; ++i) {
    if (pos + kCentralHeaderSize > cd.size() || u32(&cd[pos]) != kCentralHeaderSig) {
      fail(path_, "corrupt central directory at entry " + std::to_string(i));
    }
    const std::uint8_t* h = &cd[pos];
    const std::size_t name_len = u16(h + 28);
    const std::size_t extra_len = u16(h + 30);
    const std::size_t comment_len = u16(h + 32);
    if (pos + kCentralHeaderSize + name_len + extra_len + comment_len > cd.size()) {
      fail(path_, "corrupt central directory at entry " + std::to_string(i));
    }
    ZipEntry e;
    e.flags = u16(h + 8);
    e.method = u16(h + 10);
    e.crc32 = u32(h + 16);
    e.compressed_size = u32(h + 20);
    e.size = u32(h + 24);
    e.local_header_offset = u32(h + 42);
    e.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderSize), name_len);
    const bool big_size = e.size == 0xFFFFFFFFu;
    const bool big_csize = e.compressed_size == 0xFFFFFFFFu;
    const bool big_offset = e.local_header_offset == 0xFFFFFFFFu;
    if (big_size || big_csize || big_offset) {
      apply_zip64_extra(path_, h + kCentralHeaderSize + name_len, extra_len, e, big_size,
                        big_csize, big_offset);
    }
    entries_.push_back(std::move(e));
    pos += kCentralHeaderSize + name_len + extra_len + comment_len;
  }
}

const ZipEntry* ZipReader::find(const std::string& name) const {
  for (const ZipEntry& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::vector<std::uint8_t> ZipReader::read(const std::string& name) const {
  const ZipEntry* e = find(name);
  if (e == nullptr) fail(path_, "no entry '" + name + "'");
  return read(*e);
}

std::vector<std::uint8_t> ZipReader::read(const ZipEntry& e) const {
  const std::string where = "entry '" + e.name + "': ";
  if (e.flags & 1u) fail(path_, where + "encrypted entries are not supported");
  if (e.method != 0) {
    fail(path_, where + "unsupported compression method " + std::to_string(e.method) +
                    (e.method == 8 ? " (deflate)" : "") + "; only stored entries can be read");
  }
  if (e.compressed_size != e.size) {
    fail(path_, where + "stored entry with compressed size " + std::to_string(e.compressed_size) +
                    " != size " + std::to_string(e.size));
  }
  std::uint64_t file_size = 0;
  std::ifstream in = open_binary(path_, &file_size);
  if (file_size != file_size_) fail(path_, "file changed size while reading");
  if (e.local_header_offset > file_size || file_size - e.local_header_offset < kLocalHeaderSize) {
    fail(path_, where + "local header beyond the end of the file (truncated)");
  }
  const std::vector<std::uint8_t> lh =
      read_at(in, path_, e.local_header_offset, kLocalHeaderSize, "a local header");
  if (u32(lh.data()) != kLocalHeaderSig) fail(path_, where + "bad local header signature");
  const std::uint64_t data_offset = e.local_header_offset + kLocalHeaderSize + u16(&lh[26]) +
                                    u16(&lh[28]);
  if (data_offset > file_size || file_size - data_offset < e.size) {
    fail(path_, where + "data [" + std::to_string(data_offset) + ", +" + std::to_string(e.size) +
                    ") runs past the end of the file (" + std::to_string(file_size) +
                    " bytes): truncated");
  }
  const std::vector<std::uint8_t> name =
      read_at(in, path_, e.local_header_offset + kLocalHeaderSize, u16(&lh[26]), "a local name");
  if (std::string(name.begin(), name.end()) != e.name) {
    fail(path_, where + "local header names '" + std::string(name.begin(), name.end()) + "'");
  }
  std::vector<std::uint8_t> data = read_at(in, path_, data_offset, e.size, "entry data");
  const std::uint32_t crc = crc32(data.data(), data.size());
  if (crc != e.crc32) {
    fail(path_, where + "CRC-32 mismatch (expected " + hex32(e.crc32) + ", computed " +
                    hex32(crc) + "): the file is corrupt");
  }
  return data;
}

}  // namespace lagrad
