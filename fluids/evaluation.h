#pragma once
// DeepLagrangianFluids' evaluation of a particle network on validation sequences.
//
//   err_n1         mean particle distance to ground truth one step after a ground-truth
//                  state, over windows starting at every frame_skip-th frame of each scene
//   err_n2         the same two steps later (the second step starts from the first prediction)
//   whole_seq_err  roll out each scene from its first frame; at every frame f > 0 with
//                  f % frame_skip == 0, the mean distance of each ground-truth particle to the
//                  nearest predicted particle; averaged over those frames and scenes
//
// Distances are measured on positions multiplied by `scale` (evaluation.scale). Windows whose
// prediction is non-finite are skipped and counted, as the original does.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "particle_network.h"
#include "train_config.h"

namespace lagrad {

struct EvaluationResult {
  double err_n1 = 0.0;
  double err_n2 = 0.0;
  double whole_seq_err = 0.0;
  std::int64_t windows = 0;       // windows evaluated for err_n1/err_n2
  std::int64_t rollout_frames = 0;  // frames compared for whole_seq_err
  std::int64_t scenes = 0;
  std::int64_t nonfinite = 0;     // skipped predictions
  // Skipped windows and whole-sequence rollouts whose particle count changes between the frames
  // they compare (emitters, particles that fell out): per-particle errors are undefined there.
  std::int64_t count_changed = 0;
  double seconds = 0.0;
};

struct EvaluationOptions {
  float scale = 1.0f;
  int frame_skip = 20;
  int max_scenes = 0;          // 0: all
  bool whole_sequence = true;  // also roll out whole scenes (slower)
  // Called after each scene with (scenes done, scenes expected: expected_scene_count()).
  std::function<void(std::int64_t done, std::int64_t expected)> on_scene;
  // Called after each scene's whole-sequence rollout that kept its particle count and stayed
  // finite, with the predicted frames 1..F-1 (prediction after k steps for frame k) and the
  // ground-truth frames 1..F-1, positions multiplied by scale: the input of the benchmark
  // metrics (fluids/metrics/rollout_metrics.h). Frames are kept only when this is set.
  std::function<void(const std::vector<std::vector<float>>& pred, const std::vector<std::vector<float>>& gt)>
      on_rollout;
};

// The scenes an evaluation of `files` will see: files named like DLF's chunks of one scene
// (`sim_0007_00.msgpack.zst`, `sim_0007_01...`) count once; at most max_scenes when > 0.
std::int64_t expected_scene_count(const std::vector<std::string>& files, int max_scenes = 0);

// The network is run without gradients. Files: the validation split's files in order.
EvaluationResult evaluate(ParticleNetwork& net, const std::vector<std::string>& files, const EvaluationOptions& options);

// The no-network baseline: gravity integration only (what the network's correction adds to).
EvaluationResult evaluate_gravity_baseline(const ModelConfig& model, const std::vector<std::string>& files,
                                           const EvaluationOptions& options);

}  // namespace lagrad
