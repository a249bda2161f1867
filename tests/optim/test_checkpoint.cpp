#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "layers/module.h"
#include "optim/checkpoint.h"

using namespace lagrad;
namespace fs = std::filesystem;

namespace {

struct TwoParams : Module {
  explicit TwoParams(Index n = 3) {
    register_parameter("weight", Tensor::from_vector({2, n}, std::vector<float>(2 * n, 0.5f)));
    register_buffer("offset", Tensor::from_vector({3}, {1.0f, -2.0f, 3.5f}));
  }
};

struct Model : Module {
  Model(Index n = 3) { register_module("layer", std::make_shared<TwoParams>(n)); }
};

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("lagrad_ckpt_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

Checkpoint sample_checkpoint(const Model& m) {
  Checkpoint c;
  c.step = 1234;
  c.model = model_state(m);
  c.optimizer = {{"layer.weight.exp_avg", Tensor::from_vector({2, 3}, {1e-8f, -3.25f, 7, 0, 1, 2})}};
  c.optimizer_step = 1234;
  c.schedule = "piecewise_constant";
  c.rng_state = "12 34 56";
  c.config = "seed: 7\nbase_lr: 0.001\n";
  c.metadata["note"] = "quoted \"text\"\nwith newline";
  return c;
}

void check_equal(const Checkpoint& a, const Checkpoint& b) {
  CHECK(a.step == b.step);
  CHECK(a.optimizer_step == b.optimizer_step);
  CHECK(a.schedule == b.schedule);
  CHECK(a.rng_state == b.rng_state);
  CHECK(a.config == b.config);
  CHECK(a.metadata == b.metadata);
  REQUIRE(a.model.size() == b.model.size());
  for (size_t i = 0; i < a.model.size(); ++i) {
    CHECK(a.model[i].first == b.model[i].first);
    CHECK(a.model[i].second.shape() == b.model[i].second.shape());
    CHECK(a.model[i].second.to_vector() == b.model[i].second.to_vector());  // bitwise
  }
  REQUIRE(a.optimizer.size() == b.optimizer.size());
  CHECK(a.optimizer[0].second.to_vector() == b.optimizer[0].second.to_vector());
}

void write_bytes(const fs::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary) << s;
}
std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("checkpoint: binary and JSON round trips are exact and leave no temporary file") {
  Model m;
  const Checkpoint c = sample_checkpoint(m);
  const fs::path dir = temp_dir();
  for (auto format : {CheckpointFormat::PortableBinary, CheckpointFormat::Json}) {
    const fs::path p = dir / (format == CheckpointFormat::Json ? "c.json" : "c.bin");
    save_checkpoint(p.string(), c, format);
    check_equal(c, load_checkpoint(p.string()));
    int files = 0;
    for (auto& e : fs::directory_iterator(dir)) files += e.path().filename().string().find(".tmp") != std::string::npos;
    CHECK(files == 0);
  }
  CHECK(read_bytes(dir / "c.json").find("\"layer.weight\"") != std::string::npos);  // human-readable
  fs::remove_all(dir);
}

TEST_CASE("checkpoint: truncated, corrupted and foreign files are rejected with the path named") {
  Model m;
  const fs::path dir = temp_dir();
  for (auto format : {CheckpointFormat::PortableBinary, CheckpointFormat::Json}) {
    const fs::path p = dir / "good";
    save_checkpoint(p.string(), sample_checkpoint(m), format);
    const std::string bytes = read_bytes(p);
    const std::string bad = (dir / "bad").string();
    for (size_t cut : {size_t(1), size_t(20), bytes.size() / 2, bytes.size() - 3}) {
      write_bytes(bad, bytes.substr(0, cut));
      CHECK_THROWS_AS(load_checkpoint(bad), std::runtime_error);
      CHECK_THROWS_WITH(load_checkpoint(bad), doctest::Contains(bad.c_str()));
      if (format == CheckpointFormat::PortableBinary && cut > 20)
        CHECK_THROWS_WITH(load_checkpoint(bad), doctest::Contains("truncated"));
    }
    // Flip one bit inside the stored numbers: the checksum catches it.
    std::string flipped = bytes;
    const size_t at = format == CheckpointFormat::Json ? flipped.find("0.5") + 2 : flipped.find("weight") + 40;
    flipped[at] = format == CheckpointFormat::Json ? '7' : static_cast<char>(flipped[at] ^ 0x10);
    write_bytes(bad, flipped);
    CHECK_THROWS_WITH_AS(load_checkpoint(bad), doctest::Contains("checksum mismatch"), std::runtime_error);
  }
  const std::string foreign = (dir / "foreign").string();
  write_bytes(foreign, std::string("\x01\x10\0\0\0\0\0\0\0not a checkpoint at all", 33));
  CHECK_THROWS_WITH_AS(load_checkpoint(foreign), doctest::Contains("not a lagrad checkpoint"), std::runtime_error);
  write_bytes(foreign, "{\"something\": 1}");
  CHECK_THROWS_AS(load_checkpoint(foreign), std::runtime_error);
  CHECK_THROWS_WITH_AS(load_checkpoint((dir / "missing").string()), doctest::Contains("cannot open"),
                       std::runtime_error);
  fs::remove_all(dir);
}

TEST_CASE("checkpoint: a huge corrupted length field fails cleanly") {
  Model m;
  const fs::path dir = temp_dir();
  const fs::path p = dir / "c.bin";
  save_checkpoint(p.string(), sample_checkpoint(m));
  std::string bytes = read_bytes(p);
  // The shape vector's 8-byte length follows the first tensor's name "layer.weight".
  const size_t at = bytes.find("layer.weight") + 12;
  for (int k = 0; k < 7; ++k) bytes[at + k] = '\x7f';
  write_bytes(p, bytes);
  CHECK_THROWS_WITH_AS(load_checkpoint(p.string()), doctest::Contains("corrupted"), std::runtime_error);
  fs::remove_all(dir);
}

TEST_CASE("load_model_state: mismatches are all listed and the model stays untouched") {
  Model m;
  Model other(4);  // weight [2, 4] instead of [2, 3]
  NamedTensors state = model_state(other);
  state.emplace_back("layer.extra", Tensor::zeros({1}));
  state.erase(state.begin() + 1);  // drop layer.offset
  m.find("layer.weight").data()[0] = 42.0f;
  CHECK_THROWS_WITH_AS(load_model_state(m, state),
                       "load_model_state: state does not match the model: missing [layer.offset]; unexpected "
                       "[layer.extra]; shape mismatch [layer.weight (model [2, 3], saved [2, 4])];",
                       std::invalid_argument);
  CHECK(m.find("layer.weight").data()[0] == 42.0f);

  Model src;
  src.find("layer.weight").data()[5] = -1.5f;
  load_model_state(m, model_state(src));
  CHECK(m.find("layer.weight").to_vector() == src.find("layer.weight").to_vector());
}
