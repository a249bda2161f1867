#include "fluids/tensorboard_writer.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace lagrad {

namespace fs = std::filesystem;

namespace {

// Byte-at-a-time table of the reflected Castagnoli polynomial.
constexpr std::array<std::uint32_t, 256> make_crc32c_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<std::uint32_t, 256> kCrc32cTable = make_crc32c_table();

// The protobuf wire format, only what an Event with scalar summaries needs: varints,
// little-endian fixed32/fixed64 and length-delimited fields (strings, nested messages).
class ProtoEncoder {
 public:
  enum WireType : std::uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

  void add_double(std::uint32_t field, double v) {
    key(field, kFixed64);
    std::uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    little_endian(bits, 8);
  }
  void add_float(std::uint32_t field, float v) {
    key(field, kFixed32);
    std::uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    little_endian(bits, 4);
  }
  // int64 fields encode negative values as their 64-bit two's complement (10 bytes).
  void add_int64(std::uint32_t field, std::int64_t v) {
    key(field, kVarint);
    varint(static_cast<std::uint64_t>(v));
  }
  void add_bytes(std::uint32_t field, const std::string& bytes) {
    key(field, kLengthDelimited);
    varint(bytes.size());
    out_ += bytes;
  }
  const std::string& bytes() const { return out_; }

 private:
  void key(std::uint32_t field, WireType type) { varint((static_cast<std::uint64_t>(field) << 3) | type); }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void little_endian(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }

  std::string out_;
};

// Field numbers of tensorflow/core/util/event.proto and framework/summary.proto.
namespace event_field {
constexpr std::uint32_t kWallTime = 1, kStep = 2, kFileVersion = 3, kSummary = 5;
}
namespace summary_field {
constexpr std::uint32_t kValue = 1;
}
namespace value_field {
constexpr std::uint32_t kTag = 1, kSimpleValue = 2;
}

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string h(buf);
  for (char& c : h)
    if (c == '/') c = '_';  // a file name component
  return h;
}

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc) {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < size; ++i) crc = kCrc32cTable[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

std::uint32_t masked_crc32c(const void* data, std::size_t size) {
  const std::uint32_t c = crc32c(data, size);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

TensorBoardWriter::TensorBoardWriter(const std::string& log_dir) {
  std::error_code ec;
  fs::create_directories(log_dir, ec);
  if (ec || !fs::is_directory(log_dir))
    throw std::runtime_error("TensorBoardWriter: cannot create log directory '" + log_dir +
                             "': " + (ec ? ec.message() : std::string("not a directory")));
  const double now = unix_seconds();
  const std::string base = (fs::path(log_dir) / ("events.out.tfevents." + std::to_string(static_cast<long long>(now)) +
                                                 "." + hostname()))
                               .string();
  path_ = base;
  for (int i = 1; fs::exists(path_); ++i) path_ = base + "." + std::to_string(i);
  out_.open(path_, std::ios::binary | std::ios::out | std::ios::trunc);
  if (!out_) throw std::runtime_error("TensorBoardWriter: cannot create event file '" + path_ + "'");

  ProtoEncoder event;
  event.add_double(event_field::kWallTime, now);  // step 0: omitted, as proto3 writes defaults
  event.add_bytes(event_field::kFileVersion, "brain.Event:2");
  write_record(event.bytes());
  flush();
}

TensorBoardWriter::~TensorBoardWriter() { out_.flush(); }

void TensorBoardWriter::add_scalar(const std::string& tag, double value, std::int64_t step) {
  if (tag.empty()) throw std::invalid_argument("TensorBoardWriter::add_scalar: tag must be non-empty");
  ProtoEncoder v;
  v.add_bytes(value_field::kTag, tag);
  v.add_float(value_field::kSimpleValue, static_cast<float>(value));
  ProtoEncoder summary;
  summary.add_bytes(summary_field::kValue, v.bytes());
  ProtoEncoder event;
  event.add_double(event_field::kWallTime, unix_seconds());
  if (step != 0) event.add_int64(event_field::kStep, step);  // proto3 omits the default (canonical bytes)
  event.add_bytes(event_field::kSummary, summary.bytes());
  write_record(event.bytes());
}

void TensorBoardWriter::flush() {
  out_.flush();
  if (!out_) throw std::runtime_error("TensorBoardWriter: write error on '" + path_ + "'");
}

void TensorBoardWriter::write_record(const std::string& data) {
  unsigned char header[12];
  const std::uint64_t n = data.size();
  for (int i = 0; i < 8; ++i) header[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xFF);
  const std::uint32_t len_crc = masked_crc32c(header, 8);
  for (int i = 0; i < 4; ++i) header[8 + i] = static_cast<unsigned char>((len_crc >> (8 * i)) & 0xFF);
  const std::uint32_t data_crc = masked_crc32c(data.data(), data.size());
  unsigned char footer[4];
  for (int i = 0; i < 4; ++i) footer[i] = static_cast<unsigned char>((data_crc >> (8 * i)) & 0xFF);
  out_.write(reinterpret_cast<const char*>(header), sizeof header);
  out_.write(data.data(), static_cast<std::streamsize>(data.size()));
  out_.write(reinterpret_cast<const char*>(footer), sizeof footer);
  if (!out_) throw std::runtime_error("TensorBoardWriter: write error on '" + path_ + "'");
}

}  // namespace lagrad
