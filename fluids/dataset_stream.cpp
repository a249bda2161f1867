#include "fluids/dataset_stream.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <thread>

#include "core/random.h"
#include "fluids/dataset_file.h"
#include "fluids/io/lagrangebench.h"

namespace lagrad {
namespace {

// A DLF .msgpack.zst file, or one LagrangeBench trajectory "FILE.h5#NAME".
Sequence read_sequence_source(const std::string& source) {
  return split_lagrangebench_source(source, nullptr, nullptr) ? read_lagrangebench_sequence(source)
                                                                : read_dataset_file(source);
}

namespace fs = std::filesystem;

// A bounded queue filled by one background producer. The producer calls emit(), which blocks
// while the queue is full and unwinds the producer (by throwing Stopped) once shutdown begins.
// A producer exception is handed to the consumer after the items queued before it.
template <class T>
class Prefetcher {
 public:
  using Emit = std::function<void(T&&)>;

  Prefetcher(std::size_t capacity, std::function<void(const Emit&)> producer)
      : capacity_(capacity) {
    thread_ = std::thread([this, producer = std::move(producer)] { run(producer); });
  }

  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    not_full_.notify_all();
    thread_.join();
  }

  std::optional<T> pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    not_empty_.wait(lock, [&] { return !queue_.empty() || finished_; });
    if (queue_.empty()) {
      if (error_) std::rethrow_exception(error_);
      return std::nullopt;
    }
    T item = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return item;
  }

 private:
  struct Stopped {};

  void run(const std::function<void(const Emit&)>& producer) {
    const Emit emit = [this](T&& item) {
      std::unique_lock<std::mutex> lock(mutex_);
      not_full_.wait(lock, [&] { return queue_.size() < capacity_ || stopping_; });
      if (stopping_) throw Stopped{};
      queue_.push_back(std::move(item));
      lock.unlock();
      not_empty_.notify_one();
    };
    std::exception_ptr error;
    try {
      producer(emit);
    } catch (const Stopped&) {
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = error;
      finished_ = true;
    }
    not_empty_.notify_all();
  }

  const std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<T> queue_;
  bool stopping_ = false;
  bool finished_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts after every other member exists
};

// Portable Fisher-Yates (std::shuffle's draws differ between standard libraries).
template <class V>
void shuffle_in_place(V& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

// A window not yet copied out of its file: the shuffle buffer holds these, so overlapping
// windows share the decoded file instead of each holding copies of its frames.
struct WindowRef {
  std::shared_ptr<const Sequence> seq;
  std::size_t file = 0;
  std::size_t start = 0;
  float angle = 0.0f;
};

void check_constant_particles(const Sequence& seq, std::size_t start, std::size_t window,
                              const std::string& path) {
  const std::size_t n = seq.frames[start].num_particles();
  for (std::size_t t = 1; t < window; ++t) {
    const std::size_t m = seq.frames[start + t].num_particles();
    if (m != n) {
      throw std::runtime_error("dataset file '" + path + "': frame " + std::to_string(start + t) +
                               ": " + std::to_string(m) + " particles, frame " +
                               std::to_string(start) + " has " + std::to_string(n) +
                               " (a window needs a constant particle count)");
    }
  }
}

// Produces the batches of a DatasetStream; runs entirely on the producer thread.
class BatchProducer {
 public:
  BatchProducer(const std::vector<std::string>& files, const StreamOptions& o,
                const Prefetcher<Batch>::Emit& emit)
      : files_(files), o_(o), emit_(emit), rng_(o.seed), to_skip_(o.skip_batches),
        frame_counts_(files.size(), -1) {}

  void run() {
    do {
      const std::size_t windows = one_pass();
      if (windows == 0) {
        throw std::runtime_error("dataset stream: no file holds at least window=" +
                                 std::to_string(o_.window) + " frames (first file '" +
                                 files_.front() + "')");
      }
    } while (o_.repeat);
    while (!buffer_.empty()) {  // finite stream: drain the buffer in random order
      const std::size_t i = rng_.below(buffer_.size());
      WindowRef ref = std::move(buffer_[i]);
      buffer_[i] = std::move(buffer_.back());
      buffer_.pop_back();
      add_to_batch(ref);
    }
    if (!batch_.empty() && !o_.drop_remainder) emit_(std::move(batch_));
  }

 private:
  std::size_t one_pass() {
    std::vector<std::size_t> order(files_.size());
    std::iota(order.begin(), order.end(), 0);
    if (o_.shuffle) shuffle_in_place(order, rng_);
    std::size_t windows = 0;
    const std::size_t w = static_cast<std::size_t>(o_.window);
    for (std::size_t f : order) {
      // While skipping, a file whose frame count is known is not read: the random draws below
      // depend on that count only. Its windows were checked when it was first read.
      std::shared_ptr<const Sequence> seq;
      if (!skipping() || frame_counts_[f] < 0) seq = load(f);
      const auto frames = static_cast<std::size_t>(frame_counts_[f]);
      if (frames < w) continue;  // too short for one window, as in DLF
      std::vector<std::size_t> starts(frames - w + 1);
      std::iota(starts.begin(), starts.end(), 0);
      if (o_.shuffle) shuffle_in_place(starts, rng_);
      for (std::size_t s : starts) {
        if (!seq && !skipping()) seq = load(f);  // the skip ended inside this file
        if (seq) check_constant_particles(*seq, s, w, files_[f]);
        WindowRef ref{seq, f, s, 0.0f};
        if (o_.random_rotation) ref.angle = rng_.uniform(0.0f, 6.2831853f);
        push(std::move(ref));
        ++windows;
      }
    }
    return windows;
  }

  // Shuffle buffer: once full, each new window replaces a random resident that goes out.
  void push(WindowRef ref) {
    const std::size_t cap = static_cast<std::size_t>(o_.shuffle_buffer);
    if (cap == 0) return add_to_batch(ref);
    if (buffer_.size() < cap) {
      buffer_.push_back(std::move(ref));
      return;
    }
    const std::size_t i = rng_.below(cap);
    std::swap(buffer_[i], ref);
    add_to_batch(ref);
  }

  bool skipping() const { return to_skip_ > 0; }

  std::shared_ptr<const Sequence> load(std::size_t f) {
    auto seq = std::make_shared<const Sequence>(read_sequence_source(files_[f]));
    frame_counts_[f] = static_cast<std::int64_t>(seq->frames.size());
    return seq;
  }

  // The skip is over: windows drawn while skipping and still in the shuffle buffer get their
  // file's frames (each file read once).
  void load_buffered_windows() {
    std::map<std::size_t, std::shared_ptr<const Sequence>> loaded;
    for (WindowRef& ref : buffer_) {
      if (ref.seq) continue;
      auto& seq = loaded[ref.file];
      if (!seq) seq = load(ref.file);
      ref.seq = seq;
    }
  }

  void add_to_batch(const WindowRef& ref) {
    if (skipping()) {  // count the sample; the batch is never built
      if (++skipped_in_batch_ == static_cast<std::size_t>(o_.batch_size)) {
        skipped_in_batch_ = 0;
        if (--to_skip_ == 0) load_buffered_windows();
      }
      return;
    }
    batch_.push_back(materialize(ref));
    if (batch_.size() == static_cast<std::size_t>(o_.batch_size)) {
      emit_(std::move(batch_));
      batch_ = Batch();
    }
  }

  Sample materialize(const WindowRef& ref) const {
    Sample s;
    s.file = files_[ref.file];
    s.first_frame = ref.start;
    s.box = ref.seq->box;
    s.box_normals = ref.seq->box_normals;
    s.frames.assign(ref.seq->frames.begin() + ref.start,
                    ref.seq->frames.begin() + ref.start + o_.window);
    if (o_.random_rotation) {
      s.rotation_angle = ref.angle;
      rotate_about_y(s.box, ref.angle);
      rotate_about_y(s.box_normals, ref.angle);
      for (Frame& fr : s.frames) {
        rotate_about_y(fr.pos, ref.angle);
        rotate_about_y(fr.vel, ref.angle);
      }
    }
    return s;
  }

  const std::vector<std::string>& files_;
  const StreamOptions& o_;
  const Prefetcher<Batch>::Emit& emit_;
  Rng rng_;
  std::vector<WindowRef> buffer_;
  Batch batch_;
  std::int64_t to_skip_;                    // batches still to skip
  std::size_t skipped_in_batch_ = 0;        // samples counted toward the current skipped batch
  std::vector<std::int64_t> frame_counts_;  // per file, -1 until it is first read
};

void check_files(const std::vector<std::string>& files, const char* who) {
  if (files.empty()) throw std::invalid_argument(std::string(who) + ": files must not be empty");
  for (const std::string& f : files) {
    std::error_code ec;
    std::string h5;  // a LagrangeBench trajectory "FILE.h5#NAME": check FILE.h5
    if (!fs::is_regular_file(split_lagrangebench_source(f, &h5, nullptr) ? h5 : f, ec)) {
      throw std::runtime_error("dataset file '" + f + "': does not exist or is not a file");
    }
  }
}

}  // namespace

void StreamOptions::validate() const {
  auto require = [](bool ok, const char* name, const char* rule, long long got) {
    if (!ok) {
      throw std::invalid_argument(std::string("StreamOptions: ") + name + " must be " + rule +
                                  ", got " + std::to_string(got));
    }
  };
  require(window >= 1, "window", ">= 1", window);
  require(batch_size >= 1, "batch_size", ">= 1", batch_size);
  require(shuffle_buffer >= 0, "shuffle_buffer", ">= 0", shuffle_buffer);
  require(prefetch >= 1, "prefetch", ">= 1", prefetch);
  require(skip_batches >= 0, "skip_batches", ">= 0", skip_batches);
}

StreamOptions train_stream_options(int batch_size, std::uint64_t seed) {
  return StreamOptions()
      .set_window(3)
      .set_batch_size(batch_size)
      .set_random_rotation(true)
      .set_shuffle(true)
      .set_shuffle_buffer(512)
      .set_repeat(true)
      .set_seed(seed);
}

StreamOptions valid_stream_options(int window) {
  return StreamOptions().set_window(window).set_batch_size(1);
}

std::vector<std::string> list_dataset_files(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw std::runtime_error("dataset directory '" + dir + "': does not exist or is not a directory");
  }
  std::vector<std::string> files;
  const std::string suffix = ".msgpack.zst";
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      files.push_back(entry.path().string());
    }
  }
  if (files.empty()) {
    throw std::runtime_error("dataset directory '" + dir + "': no *.msgpack.zst files");
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> dataset_split_files(const std::string& dataset_dir, const std::string& split) {
  return list_dataset_files((fs::path(dataset_dir) / split).string());
}

void rotate_about_y(std::vector<float>& xyz, float angle) {
  const float c = static_cast<float>(std::cos(static_cast<double>(angle)));
  const float s = static_cast<float>(std::sin(static_cast<double>(angle)));
  for (std::size_t i = 0; i + 2 < xyz.size(); i += 3) {
    const float x = xyz[i], z = xyz[i + 2];
    xyz[i] = c * x - s * z;
    xyz[i + 2] = s * x + c * z;
  }
}

struct DatasetStream::Impl {
  std::unique_ptr<Prefetcher<Batch>> prefetcher;
};

DatasetStream::DatasetStream(std::vector<std::string> files, const StreamOptions& options)
    : files_(std::move(files)), options_(options), impl_(std::make_unique<Impl>()) {
  options_.validate();
  check_files(files_, "DatasetStream");
  // The producer reads files_ and options_, which outlive it: ~DatasetStream joins it first.
  impl_->prefetcher = std::make_unique<Prefetcher<Batch>>(
      static_cast<std::size_t>(options_.prefetch),
      [this](const Prefetcher<Batch>::Emit& emit) { BatchProducer(files_, options_, emit).run(); });
}

DatasetStream::~DatasetStream() = default;

std::optional<Batch> DatasetStream::next() { return impl_->prefetcher->pop(); }

struct SequenceReader::Impl {
  std::vector<std::string> files;
  std::unique_ptr<Prefetcher<Sequence>> prefetcher;
};

SequenceReader::SequenceReader(std::vector<std::string> files) : impl_(std::make_unique<Impl>()) {
  check_files(files, "SequenceReader");
  impl_->files = std::move(files);
  const std::vector<std::string>* paths = &impl_->files;
  impl_->prefetcher = std::make_unique<Prefetcher<Sequence>>(
      1, [paths](const Prefetcher<Sequence>::Emit& emit) {
        Sequence scene;
        for (const std::string& path : *paths) {
          Sequence part = read_sequence_source(path);
          if (!scene.frames.empty() && part.frames.front().scene_id != scene.frames.front().scene_id) {
            emit(std::move(scene));
            scene = Sequence();
          }
          if (scene.frames.empty()) {
            scene = std::move(part);
          } else {
            scene.frames.insert(scene.frames.end(), std::make_move_iterator(part.frames.begin()),
                                std::make_move_iterator(part.frames.end()));
          }
        }
        if (!scene.frames.empty()) emit(std::move(scene));
      });
}

SequenceReader::~SequenceReader() = default;

std::optional<Sequence> SequenceReader::next() { return impl_->prefetcher->pop(); }

}  // namespace lagrad
