// The event file is read back with a decoder written here from the format's definition (a
// bitwise CRC-32C, the TFRecord framing, the protobuf wire format), independent of the writer's
// table-driven CRC and encoder.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "fluids/tensorboard_writer.h"

using namespace lagrad;
namespace fs = std::filesystem;

namespace {

class ScratchDir {
 public:
  ScratchDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("lagrad_tb_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// CRC-32C bit by bit from the reflected polynomial.
std::uint32_t slow_crc32c(const std::string& bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}
std::uint32_t slow_masked(const std::string& bytes) {
  const std::uint32_t c = slow_crc32c(bytes);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

std::uint64_t read_le(const std::string& s, size_t at, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(s.at(at + i))) << (8 * i);
  return v;
}

// TFRecords of a file; both CRCs of every record must match.
std::vector<std::string> read_records(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  const std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> out;
  size_t at = 0;
  while (at < all.size()) {
    REQUIRE(at + 12 <= all.size());
    const std::uint64_t n = read_le(all, at, 8);
    CHECK(read_le(all, at + 8, 4) == slow_masked(all.substr(at, 8)));
    REQUIRE(at + 12 + n + 4 <= all.size());
    const std::string data = all.substr(at + 12, n);
    CHECK(read_le(all, at + 12 + n, 4) == slow_masked(data));
    out.push_back(data);
    at += 12 + n + 4;
  }
  return out;
}

// One protobuf field: its wire type and payload (varint value, fixed bits, or bytes).
struct Field {
  int wire = -1;
  std::uint64_t number = 0;  // varint or fixed32/fixed64 bits
  std::string bytes;         // length-delimited
};
using Message = std::multimap<std::uint32_t, Field>;

std::uint64_t read_varint(const std::string& s, size_t& at) {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    const auto b = static_cast<unsigned char>(s.at(at++));
    v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
  throw std::runtime_error("varint longer than 10 bytes");
}

Message parse(const std::string& s) {
  Message m;
  size_t at = 0;
  while (at < s.size()) {
    const std::uint64_t key = read_varint(s, at);
    Field f;
    f.wire = static_cast<int>(key & 7);
    switch (f.wire) {
      case 0: f.number = read_varint(s, at); break;
      case 1: f.number = read_le(s, at, 8); at += 8; break;
      case 5: f.number = read_le(s, at, 4); at += 4; break;
      case 2: {
        const std::uint64_t n = read_varint(s, at);
        f.bytes = s.substr(at, n);
        REQUIRE(f.bytes.size() == n);
        at += n;
        break;
      }
      default: FAIL("unexpected wire type " << f.wire);
    }
    m.emplace(static_cast<std::uint32_t>(key >> 3), f);
  }
  return m;
}

const Field& only(const Message& m, std::uint32_t field, int wire) {
  REQUIRE(m.count(field) == 1);
  const Field& f = m.find(field)->second;
  REQUIRE(f.wire == wire);
  return f;
}
double as_double(const Field& f) {
  double d;
  std::memcpy(&d, &f.number, 8);
  return d;
}
float as_float(const Field& f) {
  const auto bits = static_cast<std::uint32_t>(f.number);
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

struct Scalar {
  std::string tag;
  float value;
  std::int64_t step;
  double wall_time;
};
// Event {wall_time = 1 (double), step = 2 (int64), summary = 5 {value = 1 {tag = 1, simple_value = 2}}}.
Scalar decode_scalar_event(const std::string& record) {
  const Message event = parse(record);
  CHECK(event.count(3) == 0);  // no file_version
  const Message summary = parse(only(event, 5, 2).bytes);
  const Message value = parse(only(summary, 1, 2).bytes);
  // proto3 leaves out a field at its default: step 0 has no field 2.
  const std::int64_t step = event.count(2) ? static_cast<std::int64_t>(only(event, 2, 0).number) : 0;
  if (step == 0) CHECK(event.count(2) == 0);
  return {only(value, 1, 2).bytes, as_float(only(value, 2, 5)), step, as_double(only(event, 1, 1))};
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE("crc32c: the Castagnoli check value and RFC 3720's vectors") {
  const std::string digits = "123456789";
  CHECK(crc32c(digits.data(), digits.size()) == 0xE3069283u);
  CHECK(slow_crc32c(digits) == 0xE3069283u);  // the test's own decoder agrees
  const std::string zeros(32, '\0'), ones(32, '\xFF');
  std::string ascending(32, '\0');
  for (int i = 0; i < 32; ++i) ascending[i] = static_cast<char>(i);
  CHECK(crc32c(zeros.data(), zeros.size()) == 0x8A9136AAu);
  CHECK(crc32c(ones.data(), ones.size()) == 0x62A8AB43u);
  CHECK(crc32c(ascending.data(), ascending.size()) == 0x46DD794Eu);
  CHECK(crc32c(nullptr, 0) == 0u);
  // Continuing a running CRC equals the CRC of the concatenation.
  CHECK(crc32c(digits.data() + 4, 5, crc32c(digits.data(), 4)) == 0xE3069283u);
  // Masking: rotate right by 15, add the constant (mod 2^32).
  const std::uint32_t c = 0xE3069283u;
  CHECK(masked_crc32c(digits.data(), digits.size()) == static_cast<std::uint32_t>(((c >> 15) | (c << 17)) + 0xa282ead8u));
}

TEST_CASE("TensorBoardWriter: scalars read back through the TFRecord framing and the Event protobuf") {
  ScratchDir dir;
  const fs::path log_dir = dir.path() / "run" / "tb";  // parents are created
  const double t0 = now_s();
  std::string path;
  {
    TensorBoardWriter w(log_dir.string());
    path = w.path();
    w.add_scalar("loss", 0.125, 10);
    w.add_scalar("eval/err_n1", 3.5e-3, 1000);
    w.add_scalar("lr", 1e-3, 0);
    w.add_scalar("big_step", -2.0, 5000000000LL);  // past 32 bits
    w.add_scalar("negative_step", 1.0e30, -3);     // 10-byte varint
    w.flush();
    // Visible after flush(), before the writer is gone.
    CHECK(read_records(path).size() == 6);
    w.add_scalar("after_flush", 7.0, 11);
  }
  const double t1 = now_s();

  // events.out.tfevents.<unix seconds>.<hostname>
  const std::string name = fs::path(path).filename().string();
  CHECK(fs::path(path).parent_path() == log_dir);
  const std::string prefix = "events.out.tfevents.";
  REQUIRE(name.rfind(prefix, 0) == 0);
  const size_t dot = name.find('.', prefix.size());
  REQUIRE(dot != std::string::npos);
  const long long stamp = std::stoll(name.substr(prefix.size(), dot - prefix.size()));
  CHECK(stamp >= static_cast<long long>(t0));
  CHECK(stamp <= static_cast<long long>(t1));
  char host[256] = {};
  REQUIRE(gethostname(host, sizeof host - 1) == 0);
  CHECK(name.substr(dot + 1) == std::string(host));

  const std::vector<std::string> records = read_records(path);
  REQUIRE(records.size() == 7);
  // The first record names the file's version.
  const Message first = parse(records[0]);
  CHECK(only(first, 3, 2).bytes == "brain.Event:2");
  CHECK(as_double(only(first, 1, 1)) >= t0 - 1e-3);
  CHECK(first.count(5) == 0);
  CHECK(first.count(2) == 0);  // step 0, left out
  CHECK(first.size() == 2);

  const std::vector<Scalar> expected = {{"loss", 0.125f, 10, 0},
                                        {"eval/err_n1", 3.5e-3f, 1000, 0},
                                        {"lr", 1e-3f, 0, 0},
                                        {"big_step", -2.0f, 5000000000LL, 0},
                                        {"negative_step", 1.0e30f, -3, 0},
                                        {"after_flush", 7.0f, 11, 0}};
  double last_wall = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("record " << i + 1);
    const Scalar s = decode_scalar_event(records[i + 1]);
    CHECK(s.tag == expected[i].tag);
    CHECK(s.value == expected[i].value);  // float32 of the double, exactly
    CHECK(s.step == expected[i].step);
    CHECK(s.wall_time >= t0 - 1e-3);
    CHECK(s.wall_time <= t1 + 1e-3);
    CHECK(s.wall_time >= last_wall);
    last_wall = s.wall_time;
  }
}

TEST_CASE("TensorBoardWriter: the exact bytes of one scalar record") {
  ScratchDir dir;
  std::string path;
  {
    TensorBoardWriter w(dir.path().string());
    path = w.path();
    w.add_scalar("a", 1.0, 1);
  }
  const std::string rec = read_records(path).at(1);
  // Event: 09 <wall_time, 8 bytes> | 10 01 (step 1) | 2a 0a <Summary, 10 bytes>
  // Summary: 0a 08 <Value, 8 bytes>;  Value: 0a 01 'a' (tag) | 15 00 00 80 3f (1.0f)
  REQUIRE(rec.size() == 9 + 14);
  CHECK(rec[0] == '\x09');
  CHECK(rec.substr(9) == std::string("\x10\x01\x2a\x0a\x0a\x08\x0a\x01" "a" "\x15\x00\x00\x80\x3f", 14));
}

TEST_CASE("TensorBoardWriter: writers in one directory get distinct files; bad input is named") {
  ScratchDir dir;
  TensorBoardWriter a(dir.path().string()), b(dir.path().string());
  CHECK(a.path() != b.path());
  CHECK(fs::exists(a.path()));
  CHECK(fs::exists(b.path()));

  CHECK_THROWS_WITH_AS(a.add_scalar("", 1.0, 0), "TensorBoardWriter::add_scalar: tag must be non-empty",
                       std::invalid_argument);

  const fs::path file = dir.path() / "plain_file";
  std::ofstream(file) << "x";
  CHECK_THROWS_WITH_AS(TensorBoardWriter((file / "sub").string()),
                       doctest::Contains("TensorBoardWriter: cannot create log directory"), std::runtime_error);
  const std::string quoted = "'" + file.string() + "'";
  CHECK_THROWS_WITH_AS(TensorBoardWriter(file.string()), doctest::Contains(quoted.c_str()), std::runtime_error);
}
