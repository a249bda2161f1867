#pragma once
// `lagrad train`: DeepLagrangianFluids' training loop.
//
// Per batch (the original's step): for each sample, predict two steps (the second from the
// first prediction), loss_i = 0.5 (L(step 1) + L(step 2)) with L the weighted distance loss and
// each step's fluid neighbor counts; total = 128 * sum_i loss_i / batch_size; one Adam step
// (eps 1e-6) with the piecewise-constant schedule. The samples run concurrently (batch_backward:
// training.max_samples_in_flight at a time, default one per thread), each on its own tape, and
// their gradients are added in sample order: bitwise the same at any thread count. Under
// mpirun the samples are spread over the ranks with the same guarantee; rank 0 alone reads the
// checkpoint to resume from and writes the directory (docs/distributed.md).
//
// The training directory holds:
//   checkpoints/ckpt-<step>.lagrad   the newest few and every k-th (see TrainingConfig)
//   config.yaml                      the config of the run
//   metrics.jsonl                    one JSON object per logged step (train/loss: the mean over
//                                    the steps since the previous log line, train/lr, ...) and per
//                                    evaluation (eval/err_n1, eval/err_n2)
//   train.log                        the log (written by the tool's file sink)
// A run resumes from its newest checkpoint: parameters, optimizer moments, step, and the data
// stream position (the stream skips to the same batch, StreamOptions::skip_batches), so an
// interrupted run continues as if it had not stopped.
// A run started with TrainerOptions::init_from records that checkpoint's path in the metadata
// of each of its checkpoints ("init_from"), resumed runs included.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "../optim/checkpoint.h"
#include "train_config.h"

namespace lagrad {

struct TrainSummary {
  std::int64_t start_step = 0;
  std::int64_t end_step = 0;
  bool finished = false;  // reached max_iter (false: stopped by request)
  float last_loss = 0.0f;
  double seconds = 0.0;
  std::string last_checkpoint;
};

struct TrainerOptions {
  bool progress_bar = false;  // a one-line progress bar on stderr (for terminals)
  std::int64_t max_iter = 0;  // > 0 overrides training.max_iter
  // A checkpoint (or training directory) whose parameters start a new run, with a fresh
  // optimizer (fluids/init_from.h). Ignored when train_dir already holds checkpoints: the run
  // resumes, so that an interrupted fine-tune continues with the same command.
  std::string init_from;
  // Called once the inputs (dataset, checkpoint, first batch) have been read and before
  // anything is written to the training directory (the tool opens its log file there).
  std::function<void()> on_start;
  // With the progress bar on, receives the step lines the bar replaces (for the log file).
  std::function<void(const std::string&)> step_line;
};

// Runs (or resumes) the training described by `config` in `train_dir`. Returns when max_iter
// is reached or `stop` becomes true; in both cases a checkpoint of the last completed step is
// written first (a stop before a resumed run's first batch writes nothing: the
// newest checkpoint is still the state). The caller reports the outcome (the summary says
// which); train logs no line of its own for a stop. Throws on bad data or config; inputs are read
// before the training directory is created or changed, so a bad input leaves nothing behind.
TrainSummary train(const TrainConfig& config, const std::string& train_dir, const TrainerOptions& options = {},
                   const std::atomic<bool>* stop = nullptr);

// The newest checkpoint of a training directory ("" if none).
std::string latest_checkpoint(const std::string& train_dir);
// Loads the newest checkpoint of a training directory into `out` and returns its path ("" if
// there is none). A file pruned by a running trainer between listing and opening is skipped
// for the next newest.
std::string load_newest_checkpoint(const std::string& train_dir, Checkpoint& out);

}  // namespace lagrad
