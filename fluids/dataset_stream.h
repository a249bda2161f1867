#pragma once
// Training and validation data streams over DeepLagrangianFluids dataset files.
//
// A DatasetStream cuts every file of a split into windows of `window` consecutive frames
// (Sample), optionally rotates each sample about the y (gravity) axis by a random angle, mixes
// samples through a seeded shuffle buffer and groups them into batches. Files are decoded one at
// a time on a background thread that keeps `prefetch` batches ready, so the consumer rarely
// waits on decompression; the whole dataset is never in memory.
//
// Determinism: every random choice (file order, window order, rotation angles, shuffle-buffer
// picks) is drawn from one Rng seeded with `seed`, on the producer thread, in data order. The
// batches are therefore a function of (files, options) only, never of thread timing.
//
// Errors: a file that cannot be read stops the producer; the consumer first receives the
// batches completed before it, then next() rethrows the error (which names file, frame and key).
// The destructor stops the producer and joins it, also while it is blocked on a full queue.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frame.h"

namespace lagrad {

struct StreamOptions {
  int window = 3;                // frames per sample (DLF trains on 3: pos0/vel0 -> pos1, pos2)
  int batch_size = 1;            // samples per batch
  bool random_rotation = false;  // rotate each sample by a uniform angle in [0, 2 pi) about +y
  bool shuffle = false;          // shuffle file order and window order on every pass
  int shuffle_buffer = 0;        // samples in the shuffle buffer; 0 = no buffer
  bool repeat = false;           // cycle over the files forever (a new order each pass)
  bool drop_remainder = false;   // finite streams: drop the last incomplete batch
  std::uint64_t seed = 0;
  int prefetch = 2;              // batches prepared ahead on the background thread (>= 1)
  // Start after this many batches: the stream then yields exactly the batches a fresh stream
  // yields from batch skip_batches on (how a resumed training continues). The skipped batches
  // are never built: each file is read once to learn its frame count (later passes reuse it)
  // and only the random draws are replayed, so skipping costs about one pass over the files.
  std::int64_t skip_batches = 0;

  StreamOptions& set_window(int v) { window = v; return *this; }
  StreamOptions& set_batch_size(int v) { batch_size = v; return *this; }
  StreamOptions& set_random_rotation(bool v) { random_rotation = v; return *this; }
  StreamOptions& set_shuffle(bool v) { shuffle = v; return *this; }
  StreamOptions& set_shuffle_buffer(int v) { shuffle_buffer = v; return *this; }
  StreamOptions& set_repeat(bool v) { repeat = v; return *this; }
  StreamOptions& set_drop_remainder(bool v) { drop_remainder = v; return *this; }
  StreamOptions& set_seed(std::uint64_t v) { seed = v; return *this; }
  StreamOptions& set_prefetch(int v) { prefetch = v; return *this; }
  StreamOptions& set_skip_batches(std::int64_t v) { skip_batches = v; return *this; }

  // Throws std::invalid_argument naming the option, e.g. "StreamOptions: window must be >= 1, got 0".
  void validate() const;
};

// DLF's training setup: window 3, random rotation, shuffled files and windows, a 512-sample
// shuffle buffer, repeated forever.
StreamOptions train_stream_options(int batch_size = 16, std::uint64_t seed = 0);
// Validation: files and windows in order, no rotation, no shuffling, one pass, batch 1.
StreamOptions valid_stream_options(int window = 3);

// The sorted *.msgpack.zst files of a directory. Throws std::runtime_error naming the directory
// when it does not exist or holds no such file.
std::vector<std::string> list_dataset_files(const std::string& dir);
// list_dataset_files(dataset_dir + "/" + split), e.g. split "train" or "valid".
std::vector<std::string> dataset_split_files(const std::string& dataset_dir, const std::string& split);

// Rotates [n, 3] row vectors about +y by `angle` radians, in place:
//   x' = cos(a) x - sin(a) z,   y' = y,   z' = sin(a) x + cos(a) z
// (DLF's `points @ R` convention, R = [[c, 0, s], [0, 1, 0], [-s, 0, c]]).
void rotate_about_y(std::vector<float>& xyz, float angle);

class DatasetStream {
 public:
  // Throws std::invalid_argument for bad options or an empty file list, std::runtime_error when
  // a file does not exist.
  DatasetStream(std::vector<std::string> files, const StreamOptions& options);
  ~DatasetStream();
  DatasetStream(const DatasetStream&) = delete;
  DatasetStream& operator=(const DatasetStream&) = delete;

  // The next batch; std::nullopt when a finite stream is exhausted (never with repeat).
  std::optional<Batch> next();
  const StreamOptions& options() const { return options_; }
  const std::vector<std::string>& files() const { return files_; }

 private:
  struct Impl;
  std::vector<std::string> files_;
  StreamOptions options_;
  std::unique_ptr<Impl> impl_;
};

// Whole sequences for rollout evaluation: the files (in the given order) are read one at a time
// and consecutive files with the same scene_id are joined into one Sequence (the boundary of the
// scene's first file). The next scene is read ahead on a background thread.
class SequenceReader {
 public:
  explicit SequenceReader(std::vector<std::string> files);
  ~SequenceReader();
  SequenceReader(const SequenceReader&) = delete;
  SequenceReader& operator=(const SequenceReader&) = delete;

  std::optional<Sequence> next();  // std::nullopt after the last scene

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lagrad
