#include "fluids/evaluation.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <set>

#include "core/tape.h"
#include "fluids/dataset_stream.h"
#include "fluids/metrics.h"

namespace lagrad {

namespace {

// One simulation step: (pos, vel) -> (pos', vel') for a scene's boundary.
using Stepper = std::function<void(const std::vector<float>& pos, const std::vector<float>& vel,
                                   const Sequence& scene, std::vector<float>& out_pos, std::vector<float>& out_vel)>;

bool all_finite(const std::vector<float>& v) {
  for (float x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

std::vector<float> scaled(const std::vector<float>& v, float s) {
  std::vector<float> out(v);
  if (s != 1.0f)
    for (float& x : out) x *= s;
  return out;
}

EvaluationResult evaluate_with(const Stepper& step, const std::vector<std::string>& files, const EvaluationOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  EvaluationResult r;
  double sum_n1 = 0, sum_n2 = 0, sum_seq = 0;
  SequenceReader reader(files);
  std::vector<float> p1, v1, p2, v2;
  const std::int64_t expected = o.on_scene ? expected_scene_count(files, o.max_scenes) : 0;
  auto report = [&] {
    if (o.on_scene) o.on_scene(r.scenes, std::max(expected, r.scenes));
  };
  while (auto seq = reader.next()) {
    if (o.max_scenes > 0 && r.scenes >= o.max_scenes) break;
    if (r.scenes > 0) report();  // the previous scene is done
    ++r.scenes;
    const auto& frames = seq->frames;
    // err_n1 / err_n2 on windows starting at multiples of frame_skip.
    for (size_t f = 0; f + 2 < frames.size(); ++f) {
      if (frames[f].frame_id % o.frame_skip != 0) continue;
      if (frames[f].pos.empty()) continue;  // no fluid yet (an emitter starts later): nothing to measure
      if (frames[f + 1].pos.size() != frames[f].pos.size() || frames[f + 2].pos.size() != frames[f].pos.size()) {
        ++r.count_changed;
        continue;
      }
      step(frames[f].pos, frames[f].vel, *seq, p1, v1);
      step(p1, v1, *seq, p2, v2);
      if (!all_finite(p1) || !all_finite(p2)) {
        ++r.nonfinite;
        continue;
      }
      sum_n1 += mean_distance(scaled(p1, o.scale), scaled(frames[f + 1].pos, o.scale));
      sum_n2 += mean_distance(scaled(p2, o.scale), scaled(frames[f + 2].pos, o.scale));
      ++r.windows;
    }
    if (!o.whole_sequence || frames.empty()) continue;
    const bool constant_count = std::all_of(frames.begin(), frames.end(), [&](const Frame& fr) {
      return fr.pos.size() == frames[0].pos.size();
    });
    if (!constant_count) {  // the rollout from frame 0 would miss the particles added later
      ++r.count_changed;
      continue;
    }
    // Whole-sequence rollout: after k steps the prediction stands for frame k.
    std::vector<float> pos = frames[0].pos, vel = frames[0].vel;
    std::vector<std::vector<float>> kept_pred, kept_gt;
    bool finite = true;
    for (size_t f = 1; f < frames.size(); ++f) {
      step(pos, vel, *seq, p1, v1);
      pos.swap(p1);
      vel.swap(v1);
      if (o.on_rollout) {
        kept_pred.push_back(scaled(pos, o.scale));
        kept_gt.push_back(scaled(frames[f].pos, o.scale));
      }
      if (frames[f].frame_id % o.frame_skip != 0) continue;
      if (!all_finite(pos)) {
        ++r.nonfinite;
        finite = false;
        break;  // the rollout has diverged; later frames say nothing more
      }
      sum_seq += mean_gt_to_pred_distance(scaled(pos, o.scale), scaled(frames[f].pos, o.scale));
      ++r.rollout_frames;
    }
    if (o.on_rollout && finite && !kept_pred.empty() && all_finite(kept_pred.back())) o.on_rollout(kept_pred, kept_gt);
  }
  if (r.scenes > 0) report();
  if (r.windows > 0) {
    r.err_n1 = sum_n1 / static_cast<double>(r.windows);
    r.err_n2 = sum_n2 / static_cast<double>(r.windows);
  }
  if (r.rollout_frames > 0) r.whole_seq_err = sum_seq / static_cast<double>(r.rollout_frames);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

Tensor rows3(const std::vector<float>& v) { return Tensor::from_vector({static_cast<Index>(v.size() / 3), 3}, v); }

}  // namespace

std::int64_t expected_scene_count(const std::vector<std::string>& files, int max_scenes) {
  std::set<std::string> scenes;
  for (const std::string& f : files) {
    std::string name = std::filesystem::path(f).filename().string();
    const auto dot = name.find('.');
    if (dot != std::string::npos) name.resize(dot);
    // "sim_0007_01" -> "sim_0007": a numbered chunk of a numbered scene ("sim_0007" stays).
    auto numbered_tail = [](const std::string& n) -> size_t {  // position of "_digits" at the end, or npos
      const auto u = n.rfind('_');
      if (u == std::string::npos || u + 1 == n.size()) return std::string::npos;
      for (size_t i = u + 1; i < n.size(); ++i)
        if (!std::isdigit(static_cast<unsigned char>(n[i]))) return std::string::npos;
      return u;
    };
    const size_t chunk = numbered_tail(name);
    if (chunk != std::string::npos && numbered_tail(name.substr(0, chunk)) != std::string::npos) name.resize(chunk);
    scenes.insert((std::filesystem::path(f).parent_path() / name).string());
  }
  const auto n = static_cast<std::int64_t>(scenes.size());
  return max_scenes > 0 ? std::min<std::int64_t>(n, max_scenes) : n;
}

EvaluationResult evaluate(ParticleNetwork& net, const std::vector<std::string>& files, const EvaluationOptions& options) {
  NoGradGuard no_grad;
  const bool was_training = net.is_training();
  net.eval();
  Stepper step = [&net](const std::vector<float>& pos, const std::vector<float>& vel, const Sequence& scene,
                        std::vector<float>& out_pos, std::vector<float>& out_vel) {
    const ParticleStep s = net.forward(rows3(pos), rows3(vel), rows3(scene.box), rows3(scene.box_normals));
    out_pos = s.pos.to_vector();
    out_vel = s.vel.to_vector();
  };
  EvaluationResult r = evaluate_with(step, files, options);
  net.train(was_training);
  return r;
}

EvaluationResult evaluate_gravity_baseline(const ModelConfig& model, const std::vector<std::string>& files,
                                           const EvaluationOptions& options) {
  const float dt = model.timestep;
  const auto g = model.gravity;
  Stepper step = [dt, g](const std::vector<float>& pos, const std::vector<float>& vel, const Sequence&,
                         std::vector<float>& out_pos, std::vector<float>& out_vel) {
    out_pos.resize(pos.size());
    out_vel.resize(vel.size());
    // The network's update with a zero correction.
    for (size_t i = 0; i < pos.size(); ++i) {
      const float v2 = vel[i] + dt * g[i % 3];
      out_pos[i] = pos[i] + dt * (vel[i] + v2) / 2;
      out_vel[i] = (out_pos[i] - pos[i]) / dt;
    }
  };
  return evaluate_with(step, files, options);
}

}  // namespace lagrad
