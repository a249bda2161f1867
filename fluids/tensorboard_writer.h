#pragma once
// Scalar logs TensorBoard reads, written without TensorFlow or a protobuf library.
//
// The file `events.out.tfevents.<unix seconds>.<hostname>` in the log directory is a sequence of
// TFRecords, each
//   uint64 length | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
// (little endian; masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8), whose data is a serialized
// tensorflow.Event: the first record carries file_version "brain.Event:2", each later one a
// Summary with one scalar (tag, simple_value as float32) at a step. See
// docs/user_guide_training.md for the byte layout.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

namespace lagrad {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord uses; "123456789" gives
// 0xE3069283. Continues a running CRC: crc32c(b, nb, crc32c(a, na)) == crc32c(a + b).
std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc = 0);
// TFRecord's masked CRC of a buffer (masking keeps CRCs of CRC-bearing data well distributed).
std::uint32_t masked_crc32c(const void* data, std::size_t size);

// Appends scalar summaries to a new event file. Not thread-safe: one writer per thread.
class TensorBoardWriter {
 public:
  // Creates log_dir (and its parents) and a new event file in it, starting with the
  // file_version record. If a file of that name exists (two writers in the same second), a
  // suffix ".1", ".2", ... keeps them apart. Throws std::runtime_error when it cannot.
  explicit TensorBoardWriter(const std::string& log_dir);
  ~TensorBoardWriter();  // flushes (errors ignored: destructors do not throw)
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // One Event {wall_time = now, step, summary {tag, simple_value = float(value)}}. The tag must
  // be non-empty (std::invalid_argument otherwise); "train/loss" style tags group in TensorBoard.
  // Records are buffered: call flush() to make them visible to a running TensorBoard.
  void add_scalar(const std::string& tag, double value, std::int64_t step);
  // Pushes buffered records to the file. Throws std::runtime_error on a write error.
  void flush();

  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& data);

  std::string path_;
  std::ofstream out_;
};

}  // namespace lagrad
