// Damaged checkpoints: every length, count and shape read from the file is checked against the
// bytes actually there before anything is allocated; duplicates and deep JSON are refused.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/crc32.h"
#include "optim/checkpoint.h"
#include "temp_files.h"

using namespace lagrad;
namespace fs = std::filesystem;

namespace {

using test::read_bytes;
using test::write_bytes;
using Dir = test::TempDir;

std::string le64(std::uint64_t v) {
  std::string s(8, '\0');
  std::memcpy(&s[0], &v, 8);
  return s;
}

Checkpoint small() {
  Checkpoint c;
  c.model = {{"w", Tensor::from_vector({1, 4}, {1, 2, 3, 4})}};
  c.config = "CONFIGTEXT";
  c.metadata["kind"] = "test";
  return c;
}

// Replaces the 8-byte length prefix in front of `marker` by `value`.
std::string with_length_before(std::string bytes, const std::string& marker, std::uint64_t value) {
  const size_t at = bytes.find(marker);
  REQUIRE(at != std::string::npos);
  bytes.replace(at - 8, 8, le64(value));
  return bytes;
}

// The loader's CRC (optim/checkpoint.cpp, content_checksum) for small() with the shape changed,
// so that the damaged file below is "CRC-valid": only the shape check can catch it.
std::uint32_t checksum_of_small(const std::vector<std::int64_t>& shape) {
  std::uint32_t c = 0;
  auto bytes = [&](const void* p, size_t n) { c = crc32(p, n, c); };
  auto u64 = [&](std::uint64_t v) { bytes(&v, 8); };
  auto str = [&](const std::string& s) { u64(s.size()); bytes(s.data(), s.size()); };
  const std::uint32_t version = Checkpoint::kFormatVersion;
  bytes(&version, 4);
  u64(0);  // step
  u64(1);  // one model tensor
  str("w");
  bytes(shape.data(), shape.size() * 8);
  const float data[4] = {1, 2, 3, 4};
  bytes(data, sizeof data);
  u64(0);  // no optimizer tensors
  u64(0);  // optimizer step
  str("");
  str("");
  str("CONFIGTEXT");
  str("kind");
  str("test");
  return c;
}

}  // namespace

TEST_CASE("checkpoint limits: a corrupted string or record count fails before allocating") {
  Dir d;
  const std::string good = d.file("good.lagrad");
  save_checkpoint(good, small());
  const std::string bytes = read_bytes(good);
  const auto t0 = std::chrono::steady_clock::now();
  // The config string claims 1 TB; before, cereal resized the string first (gigabytes, minutes).
  write_bytes(d.file("str.lagrad"), with_length_before(bytes, "CONFIGTEXT", std::uint64_t{1} << 40));
  CHECK_THROWS_WITH_AS(load_checkpoint(d.file("str.lagrad")),
                       doctest::Contains("truncated or corrupted length field: string of 1099511627776 elements"),
                       std::runtime_error);
  // The model's tensor count sits right before the first tensor's name length.
  std::string count = bytes;
  const size_t name_at = count.find(std::string("\x01\0\0\0\0\0\0\0w", 9));
  REQUIRE(name_at != std::string::npos);
  count.replace(name_at - 8, 8, le64(std::uint64_t{1} << 36));
  write_bytes(d.file("count.lagrad"), count);
  CHECK_THROWS_WITH_AS(load_checkpoint(d.file("count.lagrad")), doctest::Contains("tensor list of 68719476736 elements"),
                       std::runtime_error);
  // The metadata count precedes the first key's length.
  std::string meta = bytes;
  meta.replace(meta.find("kind") - 16, 8, le64(std::uint64_t{1} << 40));
  write_bytes(d.file("meta.lagrad"), meta);
  CHECK_THROWS_WITH_AS(load_checkpoint(d.file("meta.lagrad")), doctest::Contains("metadata of 1099511627776 elements"),
                       std::runtime_error);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
}

TEST_CASE("checkpoint limits: a CRC-valid shape whose product wraps is refused") {
  Dir d;
  const std::string p = d.file("wrap.lagrad");
  save_checkpoint(p, small());
  std::string bytes = read_bytes(p);
  const std::string shape = le64(1) + le64(4);
  const size_t at = bytes.find(shape);
  REQUIRE(at != std::string::npos);
  const std::vector<std::int64_t> wrapped = {(std::int64_t{1} << 62) + 1, 4};  // * 4 wraps to 4
  bytes.replace(at, 8, le64(static_cast<std::uint64_t>(wrapped[0])));
  const std::uint32_t crc = checksum_of_small(wrapped);
  bytes.replace(bytes.size() - 4, 4, std::string(reinterpret_cast<const char*>(&crc), 4));
  write_bytes(p, bytes);
  CHECK_THROWS_WITH_AS(load_checkpoint(p),
                       (p + ": tensor 'w' has shape [4611686018427387905, 4], more elements than int64 can count").c_str(),
                       std::runtime_error);
}

TEST_CASE("checkpoint limits: duplicated tensor names are refused") {
  Dir d;
  Checkpoint c = small();
  c.model.emplace_back("w", Tensor::from_vector({1, 4}, {5, 6, 7, 8}));
  for (auto format : {CheckpointFormat::PortableBinary, CheckpointFormat::Json}) {
    const std::string p = d.file(format == CheckpointFormat::Json ? "dup.json" : "dup.lagrad");
    save_checkpoint(p, c, format);
    CHECK_THROWS_WITH_AS(load_checkpoint(p), (p + ": tensor 'w' appears twice (corrupted or hand-edited file)").c_str(),
                         std::runtime_error);
  }
}

TEST_CASE("checkpoint limits: JSON nested a million deep is refused, not a stack overflow") {
  Dir d;
  const std::string p = d.file("deep.json");
  write_bytes(p, "{\"lagrad_checkpoint\": " + std::string(1000000, '[') + std::string(1000000, ']') + "}");
  CHECK_THROWS_WITH_AS(load_checkpoint(p), doctest::Contains("JSON nested deeper than 32 levels"), std::runtime_error);
}

TEST_CASE("checkpoint limits: a directory where a file is expected is named as such") {
  Dir d;
  CHECK_THROWS_WITH_AS(load_checkpoint(d.path().string()),
                       ("cannot open checkpoint '" + d.path().string() + "': is a directory, expected a file").c_str(),
                       std::runtime_error);
}
