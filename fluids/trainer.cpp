#include "fluids/trainer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "core/atomic_file.h"
#include "core/batch_backward.h"
#include "core/communicator.h"
#include "core/number_format.h"
#include "core/dir_lock.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"
#include "core/tape.h"
#include "fluids/config_diff.h"
#include "fluids/dataset_stream.h"
#include "fluids/evaluation.h"
#include "fluids/init_from.h"
#include "fluids/particle_network.h"
#include "fluids/progress_meter.h"
#include "fluids/tensorboard_writer.h"
#include "lagrad/version.h"
#include "layers/losses.h"
#include "optim/adam.h"
#include "optim/checkpoint.h"
#include "optim/clip_grad.h"
#include "optim/distributed.h"
#include "optim/lr_schedule.h"

namespace lagrad {

namespace fs = std::filesystem;

namespace {

Tensor rows3(const std::vector<float>& v) { return Tensor::from_vector({static_cast<Index>(v.size() / 3), 3}, v); }

// All checkpoints of a directory as (step, path), ascending.
std::vector<std::pair<std::int64_t, std::string>> list_checkpoints(const std::string& train_dir) {
  std::vector<std::pair<std::int64_t, std::string>> out;
  const fs::path dir = fs::path(train_dir) / "checkpoints";
  if (!fs::is_directory(dir)) return out;
  static const std::regex name(R"(ckpt-(\d{1,19})\.lagrad)");
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string f = e.path().filename().string();
    if (!std::regex_match(f, m, name)) continue;
    try {
      out.emplace_back(std::stoll(m[1]), e.path().string());
    } catch (const std::out_of_range&) {  // not a step lagrad wrote
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Keeps the newest `keep_last` checkpoints and those whose step is a multiple of `keep_every`.
void prune_checkpoints(const std::string& train_dir, int keep_last, std::int64_t keep_every) {
  auto all = list_checkpoints(train_dir);
  const size_t n = all.size();
  for (size_t i = 0; i + static_cast<size_t>(keep_last) < n; ++i) {
    if (keep_every > 0 && all[i].first % keep_every == 0) continue;
    std::error_code ec;
    fs::remove(all[i].second, ec);  // a file someone else removed is fine
  }
}

void append_line(const fs::path& path, const std::string& line) {
  std::ofstream f(path, std::ios::app);
  if (!f) throw std::runtime_error("cannot append to '" + path.string() + "'");
  f << line << '\n';
}

// JSON numbers read back as the same value (shortest round trip); JSON has no NaN.
std::string fmt_double(double v) { return std::isfinite(v) ? shortest_double(v) : "null"; }
std::string fmt_float(float v) { return std::isfinite(v) ? shortest_float(v) : "null"; }


// The original's loss for one sample: two chained predictions.
Tensor sample_loss(ParticleNetwork& net, const Sample& s) {
  const Tensor box = rows3(s.box), normals = rows3(s.box_normals);
  const ParticleStep s1 = net.forward(rows3(s.frames[0].pos), rows3(s.frames[0].vel), box, normals);
  Tensor l1 = weighted_distance_loss(s1.pos, rows3(s.frames[1].pos), s1.num_fluid_neighbors);
  const ParticleStep s2 = net.forward(s1.pos, s1.vel, box, normals);
  Tensor l2 = weighted_distance_loss(s2.pos, rows3(s.frames[2].pos), s2.num_fluid_neighbors);
  return mul(add(l1, l2), 0.5f);
}

// A resumed run continues the checkpointed one: the model, the data stream, the optimizer and
// the schedule must not change. Throws std::invalid_argument naming every changed key.
void check_resumable(const std::string& path, const Checkpoint& c, const TrainConfig& now) {
  TrainConfig before = now;
  try {
    before = parse_train_config(c.config);
  } catch (const std::invalid_argument&) {
    // Not a whole training config (a checkpoint from `lagrad import`, say): the model alone.
    const auto model = c.metadata.find("model");
    before.model = parse_model_config(model != c.metadata.end() ? model->second : c.config);
  }
  const std::vector<ConfigChange> changes = resume_conflicts(before, now);
  if (!changes.empty())
    throw std::invalid_argument("train: cannot resume from '" + path + "': the config changes what a resumed run must keep (" +
                                describe_changes(changes) +
                                "); restore these keys, or train in a new --train-dir");
}

// Temporaries of atomic writes (`<file>.tmp.<pid>.<n>`) that a killed run left behind. Called
// under the directory lock, so no live writer owns them.
void remove_stale_temporaries(const std::string& train_dir) {
  for (const fs::path& dir : {fs::path(train_dir), fs::path(train_dir) / "checkpoints"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string f = e.path().filename().string();
      if (f.find(".tmp.") != std::string::npos && e.is_regular_file(ec)) {
        spdlog::info("removing {} (left by an interrupted run)", e.path().string());
        fs::remove(e.path(), ec);
      }
    }
  }
}

// The first non-finite element of `t`, or -1.
Index first_non_finite(const Tensor& t) {
  const float* p = t.data();
  for (Index i = 0, n = t.numel(); i < n; ++i)
    if (!std::isfinite(p[i])) return i;
  return -1;
}

// Throws naming the step and the first tensor holding a NaN or infinity.
void require_finite(const NamedTensors& tensors, const char* what, std::int64_t step, const std::string& last_ckpt) {
  for (const auto& [name, t] : tensors) {
    const Index i = first_non_finite(t);
    if (i >= 0)
      throw std::runtime_error("train: the " + std::string(what) + " of '" + name + "' became non-finite at step " +
                               std::to_string(step) + " (element " + std::to_string(i) +
                               "); stopping without writing a checkpoint (last good checkpoint: " +
                               (last_ckpt.empty() ? std::string("none") : last_ckpt) +
                               "); a lower base_lr or clip_grad_norm usually helps");
  }
}

std::string create_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("train: cannot create directory '" + dir.string() + "' (" + ec.message() + ")");
  return dir.string();
}

}  // namespace

std::string latest_checkpoint(const std::string& train_dir) {
  auto all = list_checkpoints(train_dir);
  return all.empty() ? std::string() : all.back().second;
}

std::string load_newest_checkpoint(const std::string& train_dir, Checkpoint& out) {
  // A training run prunes old checkpoints while readers list them: a file that has vanished by
  // the time it is opened is skipped for the next newest; the listing is read again when all did.
  for (int attempt = 0; attempt < 10; ++attempt) {
    const auto all = list_checkpoints(train_dir);
    if (all.empty()) return std::string();
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      try {
        out = load_checkpoint(it->second);
        return it->second;
      } catch (const std::runtime_error&) {
        std::error_code ec;
        if (fs::exists(it->second, ec)) throw;  // there, but unreadable: that is the error to report
      }
    }
  }
  throw std::runtime_error("cannot read a checkpoint of '" + train_dir + "': they keep vanishing while being opened");
}

TrainSummary train(const TrainConfig& config, const std::string& train_dir, const TrainerOptions& options,
                   const std::atomic<bool>* stop) {
  const TrainingConfig& tc = config.training;
  const std::int64_t max_iter = options.max_iter > 0 ? options.max_iter : tc.max_iter;
  // Data-parallel over MPI when started by mpirun: every rank runs this function; rank 0 alone
  // reads the checkpoint to resume from and writes the training directory (docs/distributed.md).
  const Communicator& comm = Communicator::world();
  const bool writer = comm.is_root();
  int threads = tc.threads;
  if (threads == 0 && comm.local_size() > 1)  // the machine's cores shared among its ranks
    threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / comm.local_size());
  set_num_threads(threads);
  // Inputs first: a bad dataset is reported before anything is written.
  const std::vector<std::string> train_files = dataset_split_files(config.dataset_dir, "train");
  std::vector<std::string> valid_files;
  if (tc.eval_interval > 0) valid_files = dataset_split_files(config.dataset_dir, "valid");

  manual_seed(tc.seed);
  ParticleNetwork net(config.model);
  net.set_position_gradients(tc.position_gradients);
  Adam opt(net.named_parameters(),
           AdamOptions().lr(tc.base_lr).eps(tc.adam_eps).beta1(tc.adam_beta1).beta2(tc.adam_beta2));
  const LrSchedule schedule = LrSchedule::piecewise_constant(tc.lr_boundaries, tc.lr_factors);
  const ParameterList params = net.parameters();
  const std::vector<Tensor> param_tensors(params.begin(), params.end());

  TrainSummary summary;
  // One trainer per directory: a second one would silently replace the first one's checkpoints.
  // Rank 0 alone touches the directory.
  DirLock lock;
  std::error_code ec;
  if (writer && fs::is_directory(train_dir, ec)) {
    lock = DirLock(train_dir, "train");
    remove_stale_temporaries(train_dir);
  }
  const std::string resume_from = writer ? latest_checkpoint(train_dir) : std::string();
  std::string init_source;  // the checkpoint the run's weights started from ("" for a fresh init)
  std::vector<std::string> start_lines, start_warnings;  // logged once the log file is open
  if (!resume_from.empty()) {
    const Checkpoint c = load_checkpoint(resume_from);
    check_resumable(resume_from, c, config);
    for (const auto& [name, t] : c.model)  // written by an older lagrad: never resume from NaN
      if (const Index i = first_non_finite(t); i >= 0)
        throw std::runtime_error("train: checkpoint '" + resume_from + "': tensor '" + name +
                                 "' holds a non-finite value (element " + std::to_string(i) +
                                 "); not resuming from it (remove it to resume from an older one)");
    load_model_state(net, c.model);
    opt.load_state(c.optimizer, c.optimizer_step);
    if (!c.rng_state.empty()) global_rng().set_state(c.rng_state);
    summary.start_step = c.step;
    summary.last_checkpoint = resume_from;
    const auto src = c.metadata.find("init_from");
    if (src != c.metadata.end()) init_source = src->second;
    start_lines.push_back(fmt::format("resuming from {} (step {}{})", resume_from, c.step,
                                      init_source.empty() ? "" : "; the run was initialized from " + init_source));
    // Resume wins so that rerunning an interrupted fine-tune's command continues it.
    if (!options.init_from.empty())
      start_warnings.push_back(fmt::format("--init-from {} is ignored: {} already holds checkpoints, so the run "
                                           "resumes", options.init_from, train_dir));
  } else if (!options.init_from.empty() && writer) {
    const InitWeights w = read_init_weights(options.init_from, net);
    apply_init_weights(net, w);
    init_source = fs::absolute(w.checkpoint).lexically_normal().string();
    start_lines.push_back(fmt::format("initialized from {} (its step {}); optimizer, schedule and data stream start "
                                      "at step 0", init_source, w.step));
    for (const auto& change : w.setting_changes)
      start_warnings.push_back("--init-from: model setting " + change + "; training uses the config's");
  }
  if (comm.size() > 1) {
    // Every rank starts from rank 0's state: parameters, optimizer moments and step.
    broadcast_parameters(net, comm);
    broadcast_optimizer_state(opt, comm);
    comm.broadcast(summary.start_step);
    comm.broadcast(init_source);
    std::string rng = global_rng().state();
    comm.broadcast(rng);
    global_rng().set_state(rng);
    if (writer) start_lines.push_back(fmt::format("data-parallel over {} processes, {} thread(s) each", comm.size(), threads));
  }
  std::int64_t step = summary.start_step;
  if (step >= max_iter) {  // before skipping the data stream, which would take ~forever for a huge step
    for (const auto& line : start_lines) spdlog::info("{}", line);
    spdlog::info("nothing to do: the checkpoint's step {} is already at or past max_iter {}", step, max_iter);
    summary.end_step = step;
    summary.finished = true;
    return summary;
  }

  StreamOptions so = train_stream_options(tc.batch_size, tc.seed);
  so.random_rotation = config.train_data.random_rotation;
  so.shuffle_buffer = config.train_data.shuffle_buffer;
  so.prefetch = config.train_data.prefetch;
  so.skip_batches = step;  // continue the data stream where the checkpointed run left it
  if (step > 0) spdlog::info("skipping the data stream to batch {} (one read of the files)", step);
  DatasetStream stream(train_files, so);
  // A stop request on any rank stops all of them at the same step.
  auto stopped = [stop, &comm] { return comm.any(stop && stop->load()); };
  // The first batch is read before anything is written: a truncated or corrupt file among the
  // first ones read is reported with the training directory untouched.
  std::optional<Batch> first_batch;
  if (!stopped()) first_batch = stream.next();
  if (stopped()) {
    for (const auto& line : start_lines) spdlog::info("{}", line);  // no log file: nothing is written
    summary.end_step = step;
    return summary;
  }

  if (writer) {
    if (!lock.locked()) {
      create_dir(train_dir);
      lock = DirLock(train_dir, "train");
      if (!latest_checkpoint(train_dir).empty())
        throw std::runtime_error("train: another run started writing checkpoints to '" + train_dir + "' meanwhile");
    }
    if (options.on_start) options.on_start();
    for (const auto& line : start_lines) spdlog::info("{}", line);
    for (const auto& line : start_warnings) spdlog::warn("{}", line);
    create_dir(fs::path(train_dir) / "checkpoints");
    write_file_atomically((fs::path(train_dir) / "config.yaml").string(), {config.source_text}, "train");
  }

  std::int64_t saved_step = resume_from.empty() ? -1 : step;
  auto save = [&](std::int64_t at) {
    if (!writer) return;
    Checkpoint c;
    c.step = at;
    c.model = model_state(net);
    c.optimizer = opt.state_tensors();
    c.optimizer_step = opt.step_count();
    c.schedule = schedule.describe();
    // The process-wide generator (parameter initializers, anything drawing from global_rng());
    // the data stream has its own, seeded by training.seed and replayed on resume.
    c.rng_state = global_rng().state();
    c.config = config.source_text;
    c.metadata["kind"] = "dlf_particle_network";
    c.metadata["model"] = model_config_yaml(config.model);
    if (!init_source.empty()) c.metadata["init_from"] = init_source;
    c.metadata["lagrad_version"] = version();
    char name[64];
    std::snprintf(name, sizeof name, "ckpt-%08lld.lagrad", static_cast<long long>(at));
    const std::string path = (fs::path(train_dir) / "checkpoints" / name).string();
    save_checkpoint(path, c);
    prune_checkpoints(train_dir, tc.keep_last_checkpoints, tc.keep_checkpoint_every);
    summary.last_checkpoint = path;
    saved_step = at;
  };

  const fs::path metrics = fs::path(train_dir) / "metrics.jsonl";
  std::optional<TensorBoardWriter> tb;
  if (writer) tb.emplace((fs::path(train_dir) / "tensorboard").string());
  auto run_eval = [&](std::int64_t at) {  // rank 0 only: the others go on to the next batch and wait there
    EvaluationOptions eo;
    eo.scale = config.evaluation.scale;
    eo.frame_skip = config.evaluation.frame_skip;
    eo.max_scenes = config.evaluation.max_scenes;
    eo.whole_sequence = false;  // the original evaluates err_n1/err_n2 during training
    const EvaluationResult r = evaluate(net, valid_files, eo);
    spdlog::info("step {} eval: err_n1 {:.6f} err_n2 {:.6f} ({} windows, {:.1f} s)", at, r.err_n1, r.err_n2,
                 r.windows, r.seconds);
    append_line(metrics, "{\"step\": " + std::to_string(at) + ", \"eval/err_n1\": " + fmt_double(r.err_n1) +
                             ", \"eval/err_n2\": " + fmt_double(r.err_n2) + "}");
    tb->add_scalar("eval/err_n1", r.err_n1, at);
    tb->add_scalar("eval/err_n2", r.err_n2, at);
    tb->flush();
  };

  const auto t_start = std::chrono::steady_clock::now();
  auto t_window = t_start;
  std::int64_t particles_window = 0, steps_window = 0;
  double loss_window = 0.0;  // the sum of the batch losses since the previous log line
  while (step < max_iter && !stopped()) {
    const std::optional<Batch> batch = first_batch ? std::exchange(first_batch, std::nullopt) : stream.next();
    if (!batch) throw std::runtime_error("train: the training stream ended unexpectedly");
    opt.zero_grad();
    // Samples run concurrently, each on its own tape; their gradients are added in sample
    // order, so the step is bitwise the same at any thread count.
    const float weight = 128.0f / static_cast<float>(batch->size());
    BatchBackwardOptions bo;
    bo.max_samples_in_flight = tc.max_samples_in_flight;
    bo.communicator = &comm;
    std::vector<float> losses;
    try {
      losses = batch_backward(
          batch->size(), [&](size_t i) { return mul(sample_loss(net, (*batch)[i]), weight); }, param_tensors, bo);
    } catch (const std::exception& e) {
      // Diverged parameters surface here as non-finite positions (the neighbor search refuses
      // them): name the step and the last checkpoint, which holds finite values.
      throw std::runtime_error("train: step " + std::to_string(step + 1) + ": " + e.what() + " (last good checkpoint: " +
                               (summary.last_checkpoint.empty() ? std::string("none") : summary.last_checkpoint) + ")");
    }
    double total = 0.0;
    for (size_t i = 0; i < losses.size(); ++i) {
      total += losses[i];
      particles_window += static_cast<std::int64_t>((*batch)[i].num_particles());
    }
    if (!std::isfinite(total))
      throw std::runtime_error("train: the loss became non-finite at step " + std::to_string(step + 1) +
                               " (last good checkpoint: " +
                               (summary.last_checkpoint.empty() ? std::string("none") : summary.last_checkpoint) + ")");
    {
      NamedTensors grads;
      for (const auto& [name, p] : net.named_parameters())
        if (p.has_grad()) grads.emplace_back(name, p.grad());
      require_finite(grads, "gradient", step + 1, summary.last_checkpoint);
    }
    schedule.apply(opt, tc.base_lr);
    if (tc.clip_grad_norm > 0) clip_grad_norm(opt.params(), tc.clip_grad_norm);
    opt.step();
    require_finite(net.named_parameters(), "parameter", step + 1, summary.last_checkpoint);
    ++step;
    ++steps_window;
    loss_window += total;
    summary.last_loss = static_cast<float>(total);

    if (writer && (step % tc.log_interval == 0 || step == max_iter)) {
      const auto now = std::chrono::steady_clock::now();
      const double dt = std::chrono::duration<double>(now - t_window).count();
      const double it_s = steps_window / std::max(dt, 1e-9);
      const double pps = particles_window / std::max(dt, 1e-9);
      const double eta = (max_iter - step) / std::max(it_s, 1e-9);
      // The mean over the steps since the previous log line, not the last batch alone.
      const double loss = loss_window / static_cast<double>(std::max<std::int64_t>(steps_window, 1));
      append_line(metrics, "{\"step\": " + std::to_string(step) + ", \"train/loss\": " + fmt_double(loss) +
                               ", \"train/lr\": " + fmt_float(opt.lr()) + ", \"train/iterations_per_s\": " +
                               fmt_double(it_s) + ", \"train/particles_per_s\": " + fmt_double(pps) + "}");
      tb->add_scalar("train/loss", loss, step);
      tb->add_scalar("train/lr", opt.lr(), step);
      tb->add_scalar("train/iterations_per_s", it_s, step);
      tb->add_scalar("train/particles_per_s", pps, step);
      tb->flush();
      if (options.progress_bar) {
        const int width = 30;
        const int filled = static_cast<int>(width * step / max_iter);
        std::fprintf(stderr, "\r[%s%s] %lld/%lld loss %.5f  %.2f it/s  ETA %s ", std::string(filled, '#').c_str(),
                     std::string(width - filled, '.').c_str(), static_cast<long long>(step),
                     static_cast<long long>(max_iter), loss, it_s, format_duration(eta).c_str());
        std::fflush(stderr);
      }
      const std::string line = fmt::format("step {}/{} loss {:.6f} lr {:.3g} {:.2f} it/s {:.0f} particles/s ETA {}",
                                           step, max_iter, loss, opt.lr(), it_s, pps, format_duration(eta));
      if (!options.progress_bar)
        spdlog::info("{}", line);
      else if (options.step_line)
        options.step_line(line);
      t_window = now;
      particles_window = steps_window = 0;
      loss_window = 0.0;
    }
    if (step % tc.checkpoint_interval == 0) save(step);
    if (writer && tc.eval_interval > 0 && step % tc.eval_interval == 0) {
      if (options.progress_bar) std::fprintf(stderr, "\n");
      run_eval(step);
      t_window = std::chrono::steady_clock::now();  // it/s measures training only
    }
  }
  if (options.progress_bar) std::fprintf(stderr, "\n");
  if (saved_step != step) save(step);
  summary.end_step = step;
  summary.finished = step >= max_iter;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return summary;
}

}  // namespace lagrad
