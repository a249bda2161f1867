// `lagrad import` and `lagrad info`, run as a user runs them: the built tool in a subprocess.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/tape.h"
#include "fluids/particle_network.h"
#include "fluids/pretrained_weights.h"
#include "optim/checkpoint.h"

#include "cli_util.h"

using namespace lagrad;
using namespace lagrad::test;
namespace fs = std::filesystem;

namespace {

const std::string kDir = LAGRAD_DATA_DIR "/dlf_pretrained/";


// A few particles over a floor, enough for every layer to matter.
ParticleStep one_step(ParticleNetwork& net) {
  std::vector<float> pos, vel, box, normals;
  for (int i = 0; i < 27; ++i) {
    pos.insert(pos.end(), {0.05f * (i % 3), 0.04f + 0.05f * (i / 3 % 3), 0.05f * (i / 9)});
    vel.insert(vel.end(), {0.1f * (i % 2), -0.2f, 0.05f * (i % 3)});
  }
  for (int a = -2; a <= 6; ++a)
    for (int b = -2; b <= 6; ++b) {
      box.insert(box.end(), {0.025f * a, 0.0f, 0.025f * b});
      normals.insert(normals.end(), {0.0f, 1.0f, 0.0f});
    }
  NoGradGuard no_grad;
  const Index n = 27, k = static_cast<Index>(box.size() / 3);
  return net.forward(Tensor::from_vector({n, 3}, pos), Tensor::from_vector({n, 3}, vel),
                     Tensor::from_vector({k, 3}, box), Tensor::from_vector({k, 3}, normals));
}

}  // namespace

TEST_CASE("lagrad import .pt, then lagrad info shows the tensors") {
  TempDir dir;
  const std::string ckpt = dir.file("dlf.ckpt");
  const Run imp = run_tool(dir, "import " + quoted(kDir + "pretrained_model_weights.pt") + " -o " + quoted(ckpt));
  REQUIRE(imp.exit_code == 0);
  CHECK(imp.err.empty());
  CHECK(contains(imp.out, "24 tensors, 692920 values"));  // 692,902 trainable + gravity + 5 offsets

  const Run info = run_tool(dir, "info " + quoted(ckpt));
  REQUIRE(info.exit_code == 0);
  CHECK(contains(info.out, "format version 1"));
  CHECK(contains(info.out, "dlf_particle_network"));
  CHECK(contains(info.out, "coordinate_mapping: ball_to_cube_volume_preserving"));
  CHECK(contains(info.out, "24 tensors, 692920 values"));
  // The conv1.kernel row: name, shape, count.
  const auto row = info.out.find("conv1.kernel");
  REQUIRE(row != std::string::npos);
  const std::string line = info.out.substr(row, info.out.find('\n', row) - row);
  CHECK(contains(line, "[4, 4, 4, 96, 64]"));
  CHECK(contains(line, "393216"));
  CHECK(contains(info.out, "optimizer       0 tensors, 0 values"));

  const Run json = run_tool(dir, "info --json " + quoted(ckpt));
  REQUIRE(json.exit_code == 0);
  CHECK(json.out.front() == '{');
  CHECK(contains(json.out, "\"format_version\": 1"));
  CHECK(contains(json.out, "\"kind\": \"dlf_particle_network\""));
  CHECK(contains(json.out, "\"name\": \"conv1.kernel\""));
  CHECK(contains(json.out, "\"count\": 393216"));

  // What the tool wrote, read back through the library.
  const Checkpoint c = load_checkpoint(ckpt);
  CHECK(c.step == 0);
  CHECK(c.optimizer.empty());
  CHECK(c.metadata.at("format") == "pt");
  CHECK(c.metadata.at("kind") == "dlf_particle_network");
  CHECK(c.metadata.at("source") == kDir + "pretrained_model_weights.pt");
  CHECK(parse_model_config(c.config).layer_channels == ModelConfig().layer_channels);
  CHECK(c.model.size() == 24);
}

TEST_CASE("lagrad import: the .h5 gives the same tensors as the .pt, and the checkpoint steps like the .pt") {
  TempDir dir;
  const std::string a = dir.file("pt.ckpt"), b = dir.file("h5.ckpt");
  REQUIRE(run_tool(dir, "import " + quoted(kDir + "pretrained_model_weights.pt") + " -o " + quoted(a)).exit_code == 0);
  const Run h5 = run_tool(dir, "import " + quoted(kDir + "pretrained_model_weights.h5") + " -o " + quoted(b) + " --json");
  REQUIRE(h5.exit_code == 0);
  CHECK(contains(h5.out, "\"format\": \"h5\""));
  CHECK(contains(h5.out, "\"tensors\": 24"));
  const Checkpoint ca = load_checkpoint(a), cb = load_checkpoint(b);
  REQUIRE(ca.model.size() == cb.model.size());
  for (size_t i = 0; i < ca.model.size(); ++i) {
    CAPTURE(ca.model[i].first);
    CHECK(ca.model[i].first == cb.model[i].first);
    CHECK(ca.model[i].second.to_vector() == cb.model[i].second.to_vector());  // bit for bit (no NaN)
  }

  ParticleNetwork direct, imported;
  load_model_state(direct, read_torch_state_dict(kDir + "pretrained_model_weights.pt"));
  load_model_state(imported, ca.model);
  const ParticleStep x = one_step(direct), y = one_step(imported);
  CHECK(x.pos.to_vector() == y.pos.to_vector());
  CHECK(x.vel.to_vector() == y.vel.to_vector());
  CHECK(x.num_fluid_neighbors.to_vector() == y.num_fluid_neighbors.to_vector());
}

TEST_CASE("lagrad import / info errors: one line on stderr, non-zero exit") {
  TempDir dir;
  SUBCASE("info on a missing file") {
    const Run r = run_tool(dir, "info " + quoted(dir.file("missing.ckpt")));
    check_one_error_line(r);
    CHECK(contains(r.err, "missing.ckpt"));
  }
  SUBCASE("info on a file that is not a checkpoint") {
    std::ofstream(dir.file("junk.ckpt")) << "not a checkpoint\nsecond line\n";
    const Run r = run_tool(dir, "info " + quoted(dir.file("junk.ckpt")));
    check_one_error_line(r);
    CHECK(contains(r.err, "junk.ckpt"));
  }
  SUBCASE("import of a missing file") {
    const Run r = run_tool(dir, "import " + quoted(dir.file("missing.pt")) + " -o " + quoted(dir.file("out.ckpt")));
    check_one_error_line(r);
    CHECK(contains(r.err, "missing.pt"));
    CHECK(!fs::exists(dir.file("out.ckpt")));
  }
  SUBCASE("import of a truncated .pt") {
    const std::string whole = read_text(kDir + "pretrained_model_weights.pt");
    std::ofstream(dir.file("cut.pt"), std::ios::binary) << whole.substr(0, whole.size() / 2);
    const Run r = run_tool(dir, "import " + quoted(dir.file("cut.pt")) + " -o " + quoted(dir.file("out.ckpt")));
    check_one_error_line(r);
    CHECK(contains(r.err, "cut.pt"));
    CHECK(!fs::exists(dir.file("out.ckpt")));
  }
  SUBCASE("import of a checkpoint instead of weights") {
    REQUIRE(run_tool(dir, "import " + quoted(kDir + "pretrained_model_weights.pt") + " -o " + quoted(dir.file("a.ckpt")))
                .exit_code == 0);
    const Run r = run_tool(dir, "import " + quoted(dir.file("a.ckpt")) + " -o " + quoted(dir.file("out.ckpt")));
    check_one_error_line(r);
    CHECK(contains(r.err, "unrecognized weights format"));
  }
}

TEST_CASE("lagrad info: training state, JSON encoding, statistics and non-finite values") {
  TempDir dir;
  Checkpoint c;
  c.step = 1234;
  c.model = {{"a.weight", Tensor::from_vector({2, 3}, {1, -2, 3, -4, 5, -6})},
             {"b", Tensor::from_vector({3}, {std::nanf(""), 0.5f, -0.25f})}};
  c.optimizer = {{"a.weight.exp_avg", Tensor::zeros({2, 3})}, {"a.weight.exp_avg_sq", Tensor::zeros({2, 3})}};
  c.optimizer_step = 1200;
  c.schedule = "piecewise_constant";
  c.rng_state = std::string(40, 'r');
  c.config = "model:\n  layer_channels: [8, 3]\n";
  c.metadata = {{"note", "hand-made"}};
  const std::string path = dir.file("train.ckpt");
  save_checkpoint(path, c, CheckpointFormat::Json);

  const Run text = run_tool(dir, "info " + quoted(path));
  REQUIRE(text.exit_code == 0);
  for (const char* expected : {
        "encoding        json, format version 1",
        "step            1234\n",
        "optimizer step  1200\n",
        "schedule        piecewise_constant\n",
        "rng state       40 bytes\n",
        "  note          hand-made\n",
        "    layer_channels: [8, 3]\n",
        "model           2 tensors, 9 values\n",
        "optimizer       2 tensors, 12 values\n"})
    CHECK_MESSAGE(contains(text.out, expected), "missing: " << expected);
  // a.weight: min -6, max 5, mean |x| 3.5; b: the NaN is counted and left out.
  const auto a_row = text.out.find("  a.weight");
  REQUIRE(a_row != std::string::npos);
  std::istringstream a_line(text.out.substr(a_row, text.out.find('\n', a_row) - a_row));
  std::string name, shape1, shape2;
  long long count = 0;
  double mn = 0, mx = 0, mean_abs = 0;
  a_line >> name >> shape1 >> shape2 >> count >> mn >> mx >> mean_abs;
  CHECK(shape1 + " " + shape2 == "[2, 3]");
  CHECK(count == 6);
  CHECK(mn == -6.0);
  CHECK(mx == 5.0);
  CHECK(mean_abs == 3.5);
  CHECK(contains(text.out, "(1 non-finite)"));

  const Run json = run_tool(dir, "info --json " + quoted(path));
  REQUIRE(json.exit_code == 0);
  for (const char* expected : {
        "\"encoding\": \"json\"",
        "\"step\": 1234",
        "\"optimizer_step\": 1200",
        "\"rng_state_bytes\": 40",
        "\"mean_abs\": 3.5",
        "\"non_finite\": 1",
        "\"min\": -0.25",
        "\"optimizer\": {\n    \"tensors\": 2,\n    \"values\": 12\n  }"})
    CHECK_MESSAGE(contains(json.out, expected), "missing: " << expected);
}

TEST_CASE("lagrad info on a training directory shows its newest checkpoint") {
  TempDir dir;
  fs::create_directories(dir.path() / "run" / "checkpoints");
  for (int step : {2, 10, 9}) {
    Checkpoint c;
    c.step = step;
    c.model = {{"w", Tensor::from_vector({2}, {1, 2})}};
    char name[64];
    std::snprintf(name, sizeof name, "ckpt-%08d.lagrad", step);
    save_checkpoint((dir.path() / "run" / "checkpoints" / name).string(), c);
  }
  const Run r = run_tool(dir, "info " + quoted(dir.file("run")));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "ckpt-00000010.lagrad\n"));
  CHECK(contains(r.out, "step            10\n"));
  CHECK(contains(run_tool(dir, "info --json " + quoted(dir.file("run"))).out, "\"step\": 10"));

  fs::create_directories(dir.path() / "empty");
  const Run none = run_tool(dir, "info " + quoted(dir.file("empty")));
  check_one_error_line(none);
  CHECK(contains(none.err, "no checkpoint in training directory"));
}
