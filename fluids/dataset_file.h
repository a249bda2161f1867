#pragma once
// One file of a DeepLagrangianFluids dataset: a zstd-compressed msgpack list of frames
// (see docs/dataset_format.md for the byte layout).
//
// Reading validates everything (structure, keys, dtypes, shapes, finiteness) and throws
// std::runtime_error naming the file, the frame index and the key. Writing produces what the
// original Python tools (msgpack + msgpack-numpy + zstandard) produce, is bit-exact on read-back,
// and is atomic: a temporary file in the same directory is renamed over the target.
#include <string>
#include <string_view>
#include <vector>

#include "frame.h"

namespace lagrad {

struct DatasetWriteOptions {
  // zstd level 1..22. DLF used 22 (slow); 3 is zstd's default and much faster to write.
  int compression_level = 3;
  // Store a content checksum so that corruption is detected on read.
  bool checksum = true;

  DatasetWriteOptions& set_compression_level(int level) { compression_level = level; return *this; }
  DatasetWriteOptions& set_checksum(bool on) { checksum = on; return *this; }
};

// Reads a whole file. `path` appears in every error message.
Sequence read_dataset_file(const std::string& path);
// Writes `seq` to `path` atomically. Throws std::invalid_argument for an inconsistent or
// non-finite sequence (naming frame and key), std::runtime_error for I/O errors.
void write_dataset_file(const std::string& path, const Sequence& seq,
                        const DatasetWriteOptions& options = {});

// Splits a scene into `splits` files "<prefix>_00.msgpack.zst", ... as DLF's record tool does
// (contiguous, near-equal chunks; each file carries the boundary). Returns the paths written.
std::vector<std::string> write_sequence_files(const std::string& prefix, const Sequence& seq,
                                              int splits, const DatasetWriteOptions& options = {});

// In-memory layers of the above, for tests and tools. `name` stands for the file in messages.
std::string encode_frames_msgpack(const Sequence& seq);  // uncompressed msgpack bytes
Sequence decode_frames_msgpack(std::string_view bytes, const std::string& name);
std::string zstd_compress(std::string_view raw, const DatasetWriteOptions& options = {});
// Streaming decompression: accepts frames without a content size and concatenated frames.
std::string zstd_decompress(std::string_view compressed, const std::string& name);
Sequence decode_dataset_bytes(std::string_view compressed, const std::string& name);

// Throws std::invalid_argument naming the frame and key when `seq` is not writable: no frames,
// arrays of mismatched sizes, NaN or Inf values.
void validate_sequence(const Sequence& seq);

}  // namespace lagrad
