// The evaluation metrics on sequences whose errors are known in closed form: ground truth =
// the gravity-only trajectory plus a per-frame offset, evaluated with the gravity baseline.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fluids/dataset_file.h"
#include "fluids/evaluation.h"
#include "fluids/metrics/rollout_metrics.h"
#include "test_dataset_util.h"

using namespace lagrad;
using namespace lagrad::test;

namespace {

// n particles 1 m apart following the baseline's own integration exactly; frame f's stored
// positions are shifted by offset * f along x. Frames listed in `drop_last_at` lose their last
// particle (a particle count change).
Sequence offset_trajectory(int frames, int n, float offset, int drop_last_at = -1) {
  const ModelConfig model;
  const float dt = model.timestep;
  std::vector<float> pos, vel;
  for (int i = 0; i < n; ++i) {
    push3(pos, static_cast<float>(i), 1.0f, 0.5f * i);
    push3(vel, 0.1f * i, 0.0f, -0.2f);
  }
  Sequence seq;
  for (int f = 0; f < frames; ++f) {
    Frame fr;
    fr.frame_id = f;
    fr.scene_id = "offset";
    fr.pos = pos;
    for (size_t i = 0; i < pos.size(); i += 3) fr.pos[i] += offset * static_cast<float>(f);
    fr.vel = vel;
    const int count = f == drop_last_at ? n - 1 : n;
    fr.pos.resize(3 * count);
    fr.vel.resize(3 * count);
    fr.mass.assign(count, 0.125f);
    fr.viscosity.assign(count, 0.0f);
    seq.frames.push_back(std::move(fr));
    for (size_t i = 0; i < pos.size(); ++i) {  // the baseline's update, same float operations
      const float v2 = vel[i] + dt * model.gravity[i % 3];
      const float p2 = pos[i] + dt * (vel[i] + v2) / 2;
      vel[i] = (p2 - pos[i]) / dt;
      pos[i] = p2;
    }
  }
  return seq;
}

}  // namespace

TEST_CASE("evaluation: err_n1, err_n2, whole_seq_err and scale on a known offset") {
  TempDir dir;
  const std::string file = dir.file("offset.msgpack.zst");
  write_dataset_file(file, offset_trajectory(10, 4, 0.01f));
  EvaluationOptions o;
  o.frame_skip = 3;
  const EvaluationResult r = evaluate_gravity_baseline(ModelConfig{}, {file}, o);
  // Windows start at frames 0, 3, 6; one step from frame f misses frame f+1 by the offset.
  CHECK(r.windows == 3);
  CHECK(r.err_n1 == doctest::Approx(0.01).epsilon(1e-4));
  CHECK(r.err_n2 == doctest::Approx(0.02).epsilon(1e-4));
  // The rollout from frame 0 misses frame f by 0.01 f: frames 3, 6, 9 -> mean 0.06.
  CHECK(r.rollout_frames == 3);
  CHECK(r.whole_seq_err == doctest::Approx(0.06).epsilon(1e-4));
  CHECK(r.count_changed == 0);
  o.scale = 2.0f;
  const EvaluationResult s = evaluate_gravity_baseline(ModelConfig{}, {file}, o);
  CHECK(s.err_n1 == doctest::Approx(0.02).epsilon(1e-4));
  CHECK(s.err_n2 == doctest::Approx(0.04).epsilon(1e-4));
  CHECK(s.whole_seq_err == doctest::Approx(0.12).epsilon(1e-4));
}

TEST_CASE("evaluation: windows and rollouts across a particle count change are skipped and counted") {
  TempDir dir;
  const std::string file = dir.file("emitting.msgpack.zst");
  write_dataset_file(file, offset_trajectory(10, 4, 0.01f, /*drop_last_at=*/5));
  EvaluationOptions o;
  o.frame_skip = 3;
  const EvaluationResult r = evaluate_gravity_baseline(ModelConfig{}, {file}, o);
  // The window at frame 3 spans frame 5: skipped; windows 0 and 6 remain. The rollout is skipped.
  CHECK(r.windows == 2);
  CHECK(r.rollout_frames == 0);
  CHECK(r.count_changed == 2);
  CHECK(r.err_n1 == doctest::Approx(0.01).epsilon(1e-4));
}

TEST_CASE("evaluation: frames without fluid give no window") {
  TempDir dir;
  const std::string file = dir.file("empty_start.msgpack.zst");
  Sequence seq = offset_trajectory(10, 4, 0.01f);
  for (int f = 0; f < 3; ++f) {  // the fluid appears at frame 3
    auto& fr = seq.frames[static_cast<size_t>(f)];
    fr.pos.clear();
    fr.vel.clear();
    fr.mass.clear();
    fr.viscosity.clear();
  }
  write_dataset_file(file, seq);
  EvaluationOptions o;
  o.frame_skip = 3;
  const EvaluationResult r = evaluate_gravity_baseline(ModelConfig{}, {file}, o);
  CHECK(r.windows == 2);  // frames 3 and 6; the empty window at frame 0 is not an error of 0
  CHECK(r.err_n1 == doctest::Approx(0.01).epsilon(1e-4));
  CHECK(r.count_changed == 1);  // the rollout from the empty frame 0
}

TEST_CASE("evaluation: on_rollout hands the aligned whole-sequence frames to the benchmark metrics") {
  TempDir dir;
  const std::string file = dir.file("offset.msgpack.zst");
  write_dataset_file(file, offset_trajectory(10, 4, 0.01f));
  EvaluationOptions o;
  o.frame_skip = 3;
  o.scale = 2.0f;
  std::vector<std::vector<float>> pred, gt;
  o.on_rollout = [&](const std::vector<std::vector<float>>& p, const std::vector<std::vector<float>>& g) {
    pred = p;
    gt = g;
  };
  evaluate_gravity_baseline(ModelConfig{}, {file}, o);
  REQUIRE(pred.size() == 9);  // frames 1..9
  REQUIRE(gt.size() == 9);
  // The prediction after k steps stands for frame k: ground truth is off by 0.01 k in x (times scale).
  for (int k = 1; k <= 9; ++k) CHECK(gt[k - 1][0] - pred[k - 1][0] == doctest::Approx(2.0 * 0.01 * k).epsilon(1e-3));
  RolloutMetricsOptions m;
  m.metrics = parse_metric_names("mse,chamfer");
  const auto r = rollout_metrics(pred, gt, m);
  CHECK(r.at("mse1") == doctest::Approx(0.02 * 0.02).epsilon(1e-3));
  CHECK(r.at("mse5") == doctest::Approx((1 + 4 + 9 + 16 + 25) * 0.0004 / 5).epsilon(1e-3));
  CHECK(r.count("mse10") == 0);  // 10 is not < 9 frames
  CHECK(r.count("chamfer") == 1);
  CHECK_THROWS_WITH_AS(parse_metric_names("mse,emd"),
                       "unknown metric 'emd' (known: mse, sinkhorn, e_kin, chamfer, density)", std::invalid_argument);
}
