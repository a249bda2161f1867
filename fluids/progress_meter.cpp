#include "fluids/progress_meter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace lagrad {

std::string format_duration(double seconds) {
  const long s = static_cast<long>(std::max(0.0, seconds));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  return buf;
}

ProgressMeter::ProgressMeter(std::string what, std::string unit, std::int64_t total, ProgressOptions options)
    : what_(std::move(what)), unit_(std::move(unit)), total_(std::max<std::int64_t>(total, 1)),
      options_(std::move(options)), start_(std::chrono::steady_clock::now()), last_line_(start_) {
  if (!options_.line) options_.line = [](const std::string& l) { spdlog::info("{}", l); };
}

ProgressMeter::~ProgressMeter() { finish(); }

void ProgressMeter::update(std::int64_t done) {
  done_ = std::clamp<std::int64_t>(done, 0, total_);
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = done_ / std::max(elapsed, 1e-9);
  const double eta = (total_ - done_) / std::max(rate, 1e-9);
  const bool last = done_ == total_;
  if (options_.bar) {
    const int width = 30;
    const int filled = static_cast<int>(width * done_ / total_);
    std::fprintf(options_.bar_stream, "\r%s [%s%s] %lld/%lld %s  %.2f/s  %s %s ", what_.c_str(),
                 std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                 static_cast<long long>(done_), static_cast<long long>(total_), unit_.c_str(), rate,
                 last ? "took" : "ETA", format_duration(last ? elapsed : eta).c_str());
    std::fflush(options_.bar_stream);
    bar_drawn_ = true;
    return;
  }
  if (!last && std::chrono::duration<double>(now - last_line_).count() < options_.interval_s) return;
  last_line_ = now;
  char pct[16];
  std::snprintf(pct, sizeof pct, "%.0f%%", 100.0 * static_cast<double>(done_) / static_cast<double>(total_));
  options_.line(what_ + ": " + std::to_string(done_) + "/" + std::to_string(total_) + " " + unit_ + " (" + pct + "), " +
                (last ? "took " + format_duration(elapsed) : "ETA " + format_duration(eta)));
}

void ProgressMeter::finish() {
  if (finished_) return;
  finished_ = true;
  if (bar_drawn_) {
    std::fprintf(options_.bar_stream, "\n");
    std::fflush(options_.bar_stream);
  }
}

}  // namespace lagrad
