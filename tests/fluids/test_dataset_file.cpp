#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>

#include "fluids/dataset_file.h"
#include "test_dataset_util.h"

using namespace lagrad;
using lagrad::test::Node;
using lagrad::test::PyStyle;

namespace {

// Writes `tree` as an original-style file (streamed zstd, no content size) and returns its path.
std::string write_tree(const test::TempDir& dir, const Node& tree, const std::string& name = "f.msgpack.zst") {
  const std::string path = dir.file(name);
  test::write_bytes(path, test::zstd_stream_compress(test::encode_node(tree)));
  return path;
}

std::string read_error(const std::string& path) {
  try {
    read_dataset_file(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("dataset_file: write then read is bit-exact, ids and strings included") {
  test::TempDir dir;
  Sequence seq = test::make_sequence("sim_0042 long scene name with unicode \xc3\xa9\xc3\xa8 !!", 4, 37, 11, 1LL << 40);
  seq.frames[1].frame_id = -5;
  seq.frames[2].pos[4] = -0.0f;
  seq.frames[2].vel[7] = std::numeric_limits<float>::denorm_min();
  seq.frames[3].mass[0] = std::numeric_limits<float>::max();
  const std::string path = dir.file("rt.msgpack.zst");
  write_dataset_file(path, seq);
  CHECK(test::same_sequence(read_dataset_file(path), seq));

  // Overwrite in place (atomic rename over an existing file) with another compression level.
  const Sequence other = test::make_sequence("b", 2, 3, 0);
  write_dataset_file(path, other, DatasetWriteOptions().set_compression_level(19).set_checksum(false));
  CHECK(test::same_sequence(read_dataset_file(path), other));
  // No temporary file is left behind.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);
}

TEST_CASE("dataset_file: the writer emits exactly the msgpack bytes of DLF's Python tool") {
  // The tree below is built from the msgpack spec and msgpack-numpy's layout, independently of
  // the writer: bin keys inside arrays, str keys in frames, np.int64 frame ids, DLF key order.
  const Sequence seq = test::make_sequence("sim_0001", 3, 5, 4);
  CHECK(encode_frames_msgpack(seq) == test::encode_node(test::original_file_tree(seq, PyStyle::kCurrent)));
}

TEST_CASE("dataset_file: original-format files are read in every packing variant") {
  test::TempDir dir;
  const Sequence seq = test::make_sequence("sim_0007", 5, 6, 3, 12);
  for (PyStyle style : {PyStyle::kCurrent, PyStyle::kLegacy}) {
    for (int zstd_frames : {1, 3}) {  // streamed without content size; several concatenated frames
      CAPTURE(zstd_frames);
      const std::string raw = test::encode_node(test::original_file_tree(seq, style));
      const std::string compressed = test::zstd_stream_compress(raw, zstd_frames);
      REQUIRE(ZSTD_getFrameContentSize(compressed.data(), compressed.size()) == ZSTD_CONTENTSIZE_UNKNOWN);
      const std::string path = dir.file("orig.msgpack.zst");
      test::write_bytes(path, compressed);
      CHECK(test::same_sequence(read_dataset_file(path), seq));
    }
  }
  // A later frame that repeats the boundary is fine (ignored); unknown keys are ignored too.
  Node tree = test::original_file_tree(seq, PyStyle::kCurrent);
  tree.array[2].map.push_back({Node::str("box"), test::numpy_array(PyStyle::kCurrent, seq.box, {3, 3})});
  tree.array[1].map.push_back({Node::str("extra"), Node::uint_(3)});
  CHECK(test::same_sequence(read_dataset_file(write_tree(dir, tree)), seq));
}

TEST_CASE("dataset_file: the committed original-format fixtures read") {
  // tests/fluids/data/make_dlf_fixtures.py writes them with Python's struct module and the zstd
  // tool (streamed: no content size), in the current and the legacy msgpack-numpy layouts.
  Sequence expected;
  expected.box = {-1.0f, 0.0f, 0.5f, 1.0f, 0.25f, -0.5f};
  expected.box_normals = {1.0f, 0.0f, 0.0f, 0.0f, 1.0f, 0.0f};
  for (int f = 0; f < 2; ++f) {
    Frame fr;
    fr.frame_id = f;
    fr.scene_id = "sim_0000";
    for (int i = 0; i < 3; ++i) {
      test::push3(fr.pos, i + 0.5f * f, 1.0f - 0.25f * i, -0.125f * f);  // -0.0 at f=0
      test::push3(fr.vel, 0.5f * i, -0.25f * f, 2.0f);
    }
    fr.mass = {0.125f, 0.125f, 0.125f};
    fr.viscosity = {0.0f, 0.5f, 0.5f};
    expected.frames.push_back(fr);
  }
  for (const char* name : {"dlf_current.msgpack.zst", "dlf_legacy.msgpack.zst"}) {
    CAPTURE(name);
    const std::string path = std::string(LAGRAD_SOURCE_DIR) + "/tests/fluids/data/" + name;
    CHECK(test::same_sequence(read_dataset_file(path), expected));
  }
  // The current-layout fixture is byte for byte what our writer packs (before compression).
  const std::string fixture = test::read_bytes(std::string(LAGRAD_SOURCE_DIR) + "/tests/fluids/data/dlf_current.msgpack.zst");
  CHECK(zstd_decompress(fixture, "fixture") == encode_frames_msgpack(expected));
}

TEST_CASE("dataset_file: write_sequence_files splits like numpy.array_split") {
  test::TempDir dir;
  const Sequence seq = test::make_sequence("scene", 10, 4, 2);
  const auto paths = write_sequence_files(dir.file("scene"), seq, 3);
  REQUIRE(paths.size() == 3);
  CHECK(paths[0] == dir.file("scene_00.msgpack.zst"));
  CHECK(paths[2] == dir.file("scene_02.msgpack.zst"));
  const std::size_t sizes[] = {4, 3, 3};
  std::int64_t next_id = 0;
  for (int i = 0; i < 3; ++i) {
    const Sequence part = read_dataset_file(paths[i]);
    CHECK(part.frames.size() == sizes[i]);
    CHECK(test::same_bits(part.box, seq.box));
    for (const Frame& f : part.frames) CHECK(test::same_frame(f, seq.frames[next_id++]));
  }
  CHECK_THROWS_AS(write_sequence_files(dir.file("x"), seq, 11), std::invalid_argument);
}

TEST_CASE("dataset_file: a bad frame names the file, the frame and the key") {
  test::TempDir dir;
  const Sequence seq = test::make_sequence("s", 4, 4, 2);
  auto tree = [&] { return test::original_file_tree(seq, PyStyle::kCurrent); };

  SUBCASE("missing key") {
    Node t = tree();
    t.array[1].erase("vel");
    const std::string p = write_tree(dir, t);
    CHECK(read_error(p) == "dataset file '" + p + "': frame 1: key 'vel': missing");
  }
  SUBCASE("missing boundary in the first frame") {
    Node t = tree();
    t.array[0].erase("box_normals");
    const std::string p = write_tree(dir, t);
    CHECK(read_error(p) == "dataset file '" + p + "': frame 0: key 'box_normals': missing");
  }
  SUBCASE("wrong dtype") {
    Node t = tree();
    std::vector<float> doubles(8);  // 4 float64 values
    *t.array[2].find("m") = test::numpy_array(PyStyle::kCurrent, doubles, {4}, "<f8");
    const std::string p = write_tree(dir, t);
    CHECK(read_error(p) == "dataset file '" + p + "': frame 2: key 'm': expected dtype float32 ('<f4'), got '<f8'");
  }
  SUBCASE("wrong shape") {
    Node t = tree();
    *t.array[3].find("pos") = test::numpy_array(PyStyle::kCurrent, seq.frames[3].pos, {6, 2});
    const std::string p = write_tree(dir, t);
    CHECK(read_error(p) == "dataset file '" + p + "': frame 3: key 'pos': expected shape [n, 3], got [6, 2]");
  }
  SUBCASE("per-particle array of another length") {
    Node t = tree();
    *t.array[1].find("viscosity") = test::numpy_array(PyStyle::kCurrent, {1, 2, 3}, {3});
    const std::string p = write_tree(dir, t);
    CHECK(read_error(p) == "dataset file '" + p + "': frame 1: key 'viscosity': expected shape [4], got [3]");
  }
  SUBCASE("boundary normals of another length") {
    Node t = tree();
    *t.array[0].find("box_normals") = test::numpy_array(PyStyle::kCurrent, {0, 1, 0}, {1, 3});
    const std::string p = write_tree(dir, t);
    CHECK(read_error(p) == "dataset file '" + p + "': frame 0: key 'box_normals': expected shape [2, 3], got [1, 3]");
  }
  SUBCASE("NaN and Inf") {
    Sequence bad = seq;
    bad.frames[2].pos[5] = std::numeric_limits<float>::quiet_NaN();
    std::string p = write_tree(dir, test::original_file_tree(bad, PyStyle::kCurrent));
    CHECK(read_error(p) == "dataset file '" + p + "': frame 2: key 'pos': non-finite value nan at element 5");
    bad = seq;
    bad.box[1] = -std::numeric_limits<float>::infinity();
    p = write_tree(dir, test::original_file_tree(bad, PyStyle::kCurrent));
    CHECK(read_error(p) == "dataset file '" + p + "': frame 0: key 'box': non-finite value -inf at element 1");
  }
  SUBCASE("scene_id and frame_id of the wrong type") {
    Node t = tree();
    *t.array[1].find("scene_id") = Node::uint_(3);
    std::string p = write_tree(dir, t);
    CHECK(read_error(p) == "dataset file '" + p + "': frame 1: key 'scene_id': expected a string (str or bin), got int");
    t = tree();
    *t.array[3].find("frame_id") = Node::str("3");
    p = write_tree(dir, t);
    CHECK(read_error(p) == "dataset file '" + p + "': frame 3: key 'frame_id': expected an integer, got str");
  }
  SUBCASE("a frame that is not a map") {
    Node t = tree();
    t.array[2] = Node::str("oops");
    const std::string p = write_tree(dir, t);
    CHECK(read_error(p) == "dataset file '" + p + "': frame 2: expected a map of arrays");
  }
}

TEST_CASE("dataset_file: truncated, corrupted and empty files") {
  test::TempDir dir;
  const Sequence seq = test::make_sequence("s", 4, 50, 10);
  const std::string raw = encode_frames_msgpack(seq);
  const std::string p = dir.file("bad.msgpack.zst");

  SUBCASE("msgpack cut inside frame 2") {
    // Offset of frame 2 = size of a file with frames 0..1 minus its list header byte, plus 1.
    Sequence head = seq;
    head.frames.resize(2);
    const std::size_t frame2_at = encode_frames_msgpack(head).size();
    test::write_bytes(p, zstd_compress(raw.substr(0, frame2_at + 100)));
    CHECK(read_error(p) == "dataset file '" + p + "': frame 2: data ends inside this frame (truncated file?)");
    test::write_bytes(p, zstd_compress(raw.substr(0, frame2_at)));
    CHECK(read_error(p) == "dataset file '" + p +
                               "': frame 2: data ends before this frame (the list claims 4 frames; truncated file?)");
  }
  SUBCASE("compressed file cut in half") {
    // Large enough for several zstd blocks, so that the intact prefix decodes to whole frames.
    const std::string big = encode_frames_msgpack(test::make_sequence("s", 40, 500, 10));
    const std::string z = test::zstd_stream_compress(big);
    test::write_bytes(p, z.substr(0, z.size() / 2));
    const std::string e = read_error(p);
    CHECK(e.rfind("dataset file '" + p + "': frame ", 0) == 0);
    CHECK(e.find(": data ends inside this frame (truncated file?); zstd: truncated stream") != std::string::npos);
    // A cut inside the first block leaves nothing to decode.
    test::write_bytes(p, test::zstd_stream_compress(raw).substr(0, 40));
    CHECK(read_error(p) == "dataset file '" + p +
                               "': zstd: truncated stream (the data ends inside a zstd frame) (no frame could be decoded)");
  }
  SUBCASE("corrupted msgpack in frame 1") {
    Sequence head = seq;
    head.frames.resize(1);
    std::string bad = raw;
    bad[encode_frames_msgpack(head).size()] = static_cast<char>(0xc1);  // the never-used type byte
    test::write_bytes(p, zstd_compress(bad));
    const std::string e = read_error(p);
    CHECK(e.rfind("dataset file '" + p + "': frame 1: invalid msgpack (", 0) == 0);
  }
  SUBCASE("corrupted compressed bytes are caught by the checksum or the decoder") {
    std::string z = zstd_compress(raw);
    for (std::size_t i = z.size() / 3; i < z.size() / 3 + 16; ++i) z[i] = static_cast<char>(z[i] ^ 0x5a);
    test::write_bytes(p, z);
    const std::string e = read_error(p);
    CHECK(e.rfind("dataset file '" + p + "': ", 0) == 0);
    CHECK(e.find("zstd: ") != std::string::npos);
  }
  SUBCASE("not zstd at all") {
    test::write_bytes(p, "hello, I am not compressed");
    CHECK(read_error(p) == "dataset file '" + p + "': zstd: Unknown frame descriptor (no frame could be decoded)");
  }
  SUBCASE("empty file, empty list, wrong top-level type, trailing bytes") {
    test::write_bytes(p, "");
    CHECK(read_error(p) == "dataset file '" + p + "': empty file (0 bytes)");
    test::write_bytes(p, zstd_compress(std::string("\x90", 1)));
    CHECK(read_error(p) == "dataset file '" + p + "': the list of frames is empty");
    test::write_bytes(p, zstd_compress(std::string("\x81\xa1x\x01", 4)));
    CHECK(read_error(p) == "dataset file '" + p + "': expected a msgpack list of frames, got type byte 0x81");
    test::write_bytes(p, zstd_compress(raw + "\x01\x02"));
    CHECK(read_error(p) == "dataset file '" + p + "': 2 unexpected bytes after frame 3");
  }
  SUBCASE("missing file") {
    CHECK(read_error(dir.file("nope.msgpack.zst")) == "dataset file '" + dir.file("nope.msgpack.zst") + "': cannot open (No such file or directory)");
  }
}

TEST_CASE("dataset_file: the writer rejects what the reader would reject, and leaves no file") {
  test::TempDir dir;
  const std::string p = dir.file("w.msgpack.zst");
  Sequence seq = test::make_sequence("s", 3, 4, 2);
  seq.frames[1].pos[4] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH_AS(write_dataset_file(p, seq), "write dataset: frame 1: 'pos' has a non-finite value at element 4",
                       std::invalid_argument);
  seq = test::make_sequence("s", 3, 4, 2);
  seq.frames[2].viscosity.pop_back();
  CHECK_THROWS_WITH_AS(write_dataset_file(p, seq),
                       "write dataset: frame 2: 'viscosity' expected 4 floats ([n] with n from 'm'), got 3",
                       std::invalid_argument);
  seq = test::make_sequence("s", 3, 4, 2);
  seq.box_normals.resize(3);
  CHECK_THROWS_WITH_AS(write_dataset_file(p, seq), "write dataset: 'box_normals' expected 6 floats ([k, 3] like 'box'), got 3",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(write_dataset_file(p, Sequence()), "write dataset: the sequence has no frames", std::invalid_argument);
  CHECK_FALSE(std::filesystem::exists(p));
  CHECK_THROWS_AS(write_dataset_file(dir.file("no/such/dir/x.msgpack.zst"), test::make_sequence("s", 1, 1, 1)),
                  std::runtime_error);
  CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("dataset_file: damaged bytes give std::runtime_error, never a crash or another exception") {
  const std::string raw = encode_frames_msgpack(test::make_sequence("s", 3, 6, 3));
  std::uint64_t state = 12345;
  auto next = [&] { state = state * 6364136223846793005ULL + 1442695040888963407ULL; return state >> 33; };
  int failures = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string bad = raw;
    if (trial % 4 == 0) {
      bad.resize(next() % raw.size());
    } else {
      for (int k = 0; k < 1 + trial % 3; ++k) bad[next() % bad.size()] = static_cast<char>(next());
    }
    try {
      decode_frames_msgpack(bad, "fuzz");
    } catch (const std::runtime_error& e) {
      ++failures;
      CHECK(std::string(e.what()).rfind("dataset file 'fuzz': ", 0) == 0);
    } catch (...) {
      FAIL("unexpected exception type at trial " << trial);
    }
  }
  CHECK(failures > 300);  // most damage is detected (flips inside float data may not be)
}
