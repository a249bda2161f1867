#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>

#include "fluids/dataset_file.h"
#include "fluids/dataset_stream.h"
#include "test_dataset_util.h"

using namespace lagrad;

namespace {

// DATASET/train with scene "a" in two files of 6 frames (5 particles) and scene "b" in one file
// of 5 frames (7 particles): 4 + 4 + 3 = 11 windows of 3 frames.
struct SmallDataset {
  test::TempDir root;
  Sequence a = test::make_sequence("a", 12, 5, 4);
  Sequence b = test::make_sequence("b", 5, 7, 6, 0, 100.0f);
  std::vector<std::string> files;

  SmallDataset() {
    std::filesystem::create_directories(root.path() / "train");
    write_sequence_files(train("a"), a, 2);
    write_sequence_files(train("b"), b, 1);
    files = dataset_split_files(root.path().string(), "train");
  }
  std::string train(const std::string& name) const { return (root.path() / "train" / name).string(); }
};

using WindowId = std::tuple<std::string, std::size_t, float>;

std::vector<WindowId> take_ids(DatasetStream& stream, int batches) {
  std::vector<WindowId> ids;
  for (int i = 0; i < batches; ++i) {
    auto batch = stream.next();
    REQUIRE(batch.has_value());
    for (const Sample& s : *batch) ids.emplace_back(s.file, s.first_frame, s.rotation_angle);
  }
  return ids;
}

std::vector<Sample> drain(DatasetStream& stream) {
  std::vector<Sample> out;
  while (auto batch = stream.next()) {
    for (Sample& s : *batch) out.push_back(std::move(s));
  }
  return out;
}

double dist(const std::vector<float>& p, std::size_t i, const std::vector<float>& q, std::size_t j) {
  double d = 0;
  for (int c = 0; c < 3; ++c) d += std::pow(double(p[3 * i + c]) - double(q[3 * j + c]), 2);
  return std::sqrt(d);
}

// Checks that `got` is `src` rotated by `angle` about +y (y untouched).
void check_rotated(const std::vector<float>& got, const std::vector<float>& src, double angle) {
  REQUIRE(got.size() == src.size());
  const double c = std::cos(angle), s = std::sin(angle);
  for (std::size_t i = 0; i < src.size(); i += 3) {
    CHECK(got[i] == doctest::Approx(c * src[i] - s * src[i + 2]).epsilon(1e-5).scale(10));
    CHECK(got[i + 1] == src[i + 1]);
    CHECK(got[i + 2] == doctest::Approx(s * src[i] + c * src[i + 2]).epsilon(1e-5).scale(10));
  }
}

}  // namespace

TEST_CASE("dataset_stream: the validation stream yields every window in order, bit-exact") {
  SmallDataset ds;
  REQUIRE(ds.files.size() == 3);
  DatasetStream stream(ds.files, valid_stream_options(3));
  const std::vector<Sample> samples = drain(stream);
  REQUIRE(samples.size() == 11);
  CHECK_FALSE(stream.next().has_value());  // stays exhausted

  std::size_t k = 0;
  for (std::size_t f = 0; f < 3; ++f) {
    const Sequence file = read_dataset_file(ds.files[f]);
    for (std::size_t start = 0; start + 3 <= file.frames.size(); ++start, ++k) {
      const Sample& s = samples[k];
      CAPTURE(k);
      CHECK(s.file == ds.files[f]);
      CHECK(s.first_frame == start);
      CHECK(s.rotation_angle == 0.0f);
      REQUIRE(s.frames.size() == 3);
      for (std::size_t t = 0; t < 3; ++t) CHECK(test::same_frame(s.frames[t], file.frames[start + t]));
      CHECK(test::same_bits(s.box, file.box));
      CHECK(test::same_bits(s.box_normals, file.box_normals));
    }
  }
  // Spot check against the generating sequences: file a_01 starts at frame_id 6.
  CHECK(samples[4].frames[0].frame_id == 6);
  CHECK(test::same_frame(samples[5].frames[2], ds.a.frames[9]));
  CHECK(samples[8].num_particles() == 7);
  CHECK(test::same_bits(samples[8].frames[0].mass, ds.b.frames[0].mass));
}

TEST_CASE("dataset_stream: batches of B samples, remainder kept or dropped") {
  SmallDataset ds;
  for (bool drop : {false, true}) {
    DatasetStream stream(ds.files, valid_stream_options().set_batch_size(4).set_drop_remainder(drop));
    std::vector<std::size_t> sizes;
    while (auto batch = stream.next()) sizes.push_back(batch->size());
    CHECK(sizes == (drop ? std::vector<std::size_t>{4, 4} : std::vector<std::size_t>{4, 4, 3}));
  }
}

TEST_CASE("dataset_stream: random rotation about y is rigid and shared by the whole sample") {
  SmallDataset ds;
  DatasetStream stream(ds.files, valid_stream_options().set_random_rotation(true).set_seed(3));
  const std::vector<Sample> samples = drain(stream);
  REQUIRE(samples.size() == 11);
  std::set<float> angles;
  for (const Sample& s : samples) {
    const Sequence file = read_dataset_file(s.file);
    const double a = s.rotation_angle;
    angles.insert(s.rotation_angle);
    CHECK(a >= 0.0);
    CHECK(a < 2 * M_PI);
    check_rotated(s.box, file.box, a);
    check_rotated(s.box_normals, file.box_normals, a);
    for (std::size_t t = 0; t < 3; ++t) {
      const Frame& src = file.frames[s.first_frame + t];
      check_rotated(s.frames[t].pos, src.pos, a);
      check_rotated(s.frames[t].vel, src.vel, a);
      CHECK(test::same_bits(s.frames[t].mass, src.mass));
      CHECK(test::same_bits(s.frames[t].viscosity, src.viscosity));
    }
    // Rigid: distances between particles, frames and boundary points are preserved.
    const Frame& src0 = file.frames[s.first_frame];
    for (std::size_t i = 0; i < s.num_particles(); ++i) {
      for (std::size_t j = 0; j < file.num_box_points(); ++j) {
        CHECK(dist(s.frames[0].pos, i, s.box, j) == doctest::Approx(dist(src0.pos, i, file.box, j)).epsilon(1e-5));
      }
      CHECK(dist(s.frames[0].pos, i, s.frames[2].pos, 0) ==
            doctest::Approx(dist(src0.pos, i, file.frames[s.first_frame + 2].pos, 0)).epsilon(1e-5));
    }
    for (std::size_t j = 0; j < file.num_box_points(); ++j) {  // normals stay unit length
      CHECK(dist(s.box_normals, j, std::vector<float>{0, 0, 0}, 0) == doctest::Approx(1.0).epsilon(1e-5));
    }
  }
  CHECK(angles.size() == samples.size());  // one angle per sample
}

TEST_CASE("rotate_about_y: a quarter turn maps +x to +z and +z to -x (DLF's points @ R)") {
  std::vector<float> v = {1, 2, 0, 0, -1, 1};
  rotate_about_y(v, static_cast<float>(M_PI / 2));
  CHECK(v[0] == doctest::Approx(0).scale(1));
  CHECK(v[1] == 2);
  CHECK(v[2] == doctest::Approx(1));
  CHECK(v[3] == doctest::Approx(-1));
  CHECK(v[4] == -1);
  CHECK(v[5] == doctest::Approx(0).scale(1));
}

TEST_CASE("dataset_stream: seeded shuffling is reproducible, differs across seeds, ignores timing") {
  SmallDataset ds;
  auto opts = [](std::uint64_t seed, int prefetch) {
    return train_stream_options(2, seed).set_shuffle_buffer(5).set_prefetch(prefetch);
  };
  std::vector<WindowId> first;
  {
    DatasetStream s(ds.files, opts(7, 1));
    first = take_ids(s, 15);  // 30 samples: more than two passes over the 11 windows
  }
  DatasetStream same(ds.files, opts(7, 8));  // another queue depth: same batches
  CHECK(take_ids(same, 15) == first);
  DatasetStream other(ds.files, opts(8, 2));
  CHECK(take_ids(other, 15) != first);

  // The first pass is mixed: not the file order.
  std::vector<std::pair<std::string, std::size_t>> order;
  for (const auto& id : first) order.emplace_back(std::get<0>(id), std::get<1>(id));
  std::vector<std::pair<std::string, std::size_t>> sequential;
  for (std::size_t f = 0; f < 3; ++f) {
    for (std::size_t start = 0; start < (f < 2 ? 4u : 3u); ++start) sequential.emplace_back(ds.files[f], start);
  }
  CHECK(std::vector<std::pair<std::string, std::size_t>>(order.begin(), order.begin() + 11) != sequential);
}

TEST_CASE("dataset_stream: skip_batches yields exactly the batches a fresh stream reaches") {
  SmallDataset ds;
  // A file too short for one window takes part in the draws but yields nothing.
  const std::string short_file = ds.train("c.msgpack.zst");
  write_dataset_file(short_file, test::make_sequence("c", 2, 3, 2));
  std::vector<std::string> files = ds.files;
  files.push_back(short_file);
  auto same_samples = [](const Batch& x, const Batch& y) {
    REQUIRE(x.size() == y.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      CHECK(x[i].file == y[i].file);
      CHECK(x[i].first_frame == y[i].first_frame);
      CHECK(test::same_bits({x[i].rotation_angle}, {y[i].rotation_angle}));
      CHECK(test::same_bits(x[i].box, y[i].box));
      for (std::size_t t = 0; t < x[i].frames.size(); ++t) {
        CHECK(test::same_bits(x[i].frames[t].pos, y[i].frames[t].pos));
        CHECK(test::same_bits(x[i].frames[t].vel, y[i].frames[t].vel));
      }
    }
  };
  // Training-like streams (several passes over the 11 windows) and a finite one with a remainder.
  const std::vector<StreamOptions> setups = {train_stream_options(2, 3).set_shuffle_buffer(5),
                                             train_stream_options(3, 9).set_shuffle_buffer(0),
                                             valid_stream_options().set_batch_size(4).set_shuffle(true)};
  for (const StreamOptions& o : setups) {
    std::vector<Batch> full;
    {
      DatasetStream s(files, o);
      for (int i = 0; i < 20; ++i) {
        auto b = s.next();
        if (!b) break;
        full.push_back(std::move(*b));
      }
    }
    for (std::int64_t skip : {std::int64_t{1}, std::int64_t{4}, std::int64_t{7}, static_cast<std::int64_t>(full.size()) - 1}) {
      CAPTURE(skip);
      DatasetStream s(files, StreamOptions(o).set_skip_batches(skip));
      for (std::size_t i = static_cast<std::size_t>(skip); i < full.size(); ++i) {
        auto b = s.next();
        REQUIRE(b.has_value());
        same_samples(*b, full[i]);
      }
    }
  }
  // Skipping past the end of a finite stream leaves nothing.
  DatasetStream past(files, valid_stream_options().set_skip_batches(11));
  CHECK_FALSE(past.next().has_value());
  CHECK_THROWS_WITH_AS(DatasetStream(files, valid_stream_options().set_skip_batches(-1)),
                       "StreamOptions: skip_batches must be >= 0, got -1", std::invalid_argument);
}

TEST_CASE("dataset_stream: a finite shuffled pass yields every window exactly once") {
  SmallDataset ds;
  DatasetStream stream(ds.files, valid_stream_options().set_shuffle(true).set_shuffle_buffer(4).set_seed(11));
  std::multiset<std::pair<std::string, std::size_t>> seen;
  std::vector<std::pair<std::string, std::size_t>> order;
  for (const Sample& s : drain(stream)) {
    seen.emplace(s.file, s.first_frame);
    order.emplace_back(s.file, s.first_frame);
  }
  CHECK(seen.size() == 11);
  CHECK(std::set<std::pair<std::string, std::size_t>>(seen.begin(), seen.end()).size() == 11);
  CHECK(!std::is_sorted(order.begin(), order.end()));
}

TEST_CASE("dataset_stream: a reading error reaches the consumer after the good batches") {
  SmallDataset ds;
  const std::string bad = ds.train("z_bad.msgpack.zst");
  Sequence seq = test::make_sequence("z", 4, 3, 2);
  std::string raw = encode_frames_msgpack(seq);
  test::write_bytes(bad, zstd_compress(raw.substr(0, raw.size() - 10)));  // frame 3 cut short
  std::vector<std::string> files = ds.files;
  files.push_back(bad);

  DatasetStream stream(files, valid_stream_options());
  for (int i = 0; i < 11; ++i) REQUIRE(stream.next().has_value());
  const std::string expected = "dataset file '" + bad + "': frame 3: data ends inside this frame (truncated file?)";
  CHECK_THROWS_WITH_AS(stream.next(), expected.c_str(), std::runtime_error);
  CHECK_THROWS_WITH_AS(stream.next(), expected.c_str(), std::runtime_error);  // stays failed

  // A repeating, shuffled stream hits the bad file within its first pass.
  DatasetStream train(files, train_stream_options(1, 5).set_shuffle_buffer(3));
  std::string message;
  for (int i = 0; i < 20 && message.empty(); ++i) {
    try {
      train.next();
    } catch (const std::runtime_error& e) {
      message = e.what();
    }
  }
  CHECK(message == expected);
}

TEST_CASE("dataset_stream: a window across a particle-count change is an error naming the frame") {
  test::TempDir dir;
  Sequence seq = test::make_sequence("s", 5, 5, 2);
  Frame& f3 = seq.frames[3];
  f3.pos.resize(12);
  f3.vel.resize(12);
  f3.mass.resize(4);
  f3.viscosity.resize(4);
  write_dataset_file(dir.file("s.msgpack.zst"), seq);
  DatasetStream stream({dir.file("s.msgpack.zst")}, valid_stream_options());
  CHECK(stream.next().has_value());  // frames 0..2
  CHECK_THROWS_WITH_AS(stream.next(),
                       ("dataset file '" + dir.file("s.msgpack.zst") +
                        "': frame 3: 4 particles, frame 1 has 5 (a window needs a constant particle count)").c_str(),
                       std::runtime_error);
}

TEST_CASE("dataset_stream: destruction stops a producer blocked on a full queue") {
  SmallDataset ds;
  {
    DatasetStream stream(ds.files, train_stream_options(1, 0).set_prefetch(1));
  }
  {
    DatasetStream stream(ds.files, train_stream_options(2, 0).set_prefetch(1));
    REQUIRE(stream.next().has_value());
    REQUIRE(stream.next().has_value());
  }
  CHECK(true);  // reaching here means both destructors returned
}

TEST_CASE("dataset_stream: directory, file list and option errors") {
  test::TempDir dir;
  CHECK_THROWS_WITH_AS(list_dataset_files(dir.path().string()),
                       ("dataset directory '" + dir.path().string() + "': no *.msgpack.zst files").c_str(),
                       std::runtime_error);
  test::write_bytes(dir.file("notes.txt"), "x");
  CHECK_THROWS_AS(list_dataset_files(dir.path().string()), std::runtime_error);
  CHECK_THROWS_WITH_AS(dataset_split_files(dir.path().string(), "valid"),
                       ("dataset directory '" + (dir.path() / "valid").string() +
                        "': does not exist or is not a directory").c_str(),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(DatasetStream({}, valid_stream_options()), "DatasetStream: files must not be empty",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(DatasetStream({dir.file("gone.msgpack.zst")}, valid_stream_options()),
                       ("dataset file '" + dir.file("gone.msgpack.zst") + "': does not exist or is not a file").c_str(),
                       std::runtime_error);
  write_dataset_file(dir.file("short.msgpack.zst"), test::make_sequence("s", 2, 3, 1));
  CHECK_THROWS_WITH_AS(DatasetStream({dir.file("short.msgpack.zst")}, valid_stream_options().set_window(0)),
                       "StreamOptions: window must be >= 1, got 0", std::invalid_argument);
  CHECK_THROWS_WITH_AS(DatasetStream({dir.file("short.msgpack.zst")}, valid_stream_options().set_prefetch(0)),
                       "StreamOptions: prefetch must be >= 1, got 0", std::invalid_argument);
  DatasetStream too_short({dir.file("short.msgpack.zst")}, train_stream_options(1, 0));
  CHECK_THROWS_WITH_AS(too_short.next(),
                       ("dataset stream: no file holds at least window=3 frames (first file '" +
                        dir.file("short.msgpack.zst") + "')").c_str(),
                       std::runtime_error);
}

TEST_CASE("SequenceReader: joins the files of each scene into one whole sequence") {
  SmallDataset ds;
  SequenceReader reader(ds.files);
  auto first = reader.next();
  REQUIRE(first.has_value());
  CHECK(test::same_sequence(*first, ds.a));
  auto second = reader.next();
  REQUIRE(second.has_value());
  CHECK(test::same_sequence(*second, ds.b));
  CHECK_FALSE(reader.next().has_value());
}
