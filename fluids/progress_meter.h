#pragma once
// Progress of long work (rollouts, evaluations): on a terminal a one-line bar with the rate and
// the ETA, redrawn in place; otherwise a plain line at most every `interval_s` seconds and one
// at the end, for logs. The bar looks like `lagrad train`'s.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace lagrad {

struct ProgressOptions {
  bool bar = false;           // the terminal bar (else plain lines)
  double interval_s = 10.0;   // plain lines: at most one per interval, plus the last
  std::FILE* bar_stream = stderr;
  std::function<void(const std::string&)> line;  // plain lines go here (default: spdlog info)
};

class ProgressMeter {
 public:
  // `what`: the work ("run"), `unit`: what is counted ("steps"), `total` > 0.
  ProgressMeter(std::string what, std::string unit, std::int64_t total, ProgressOptions options = {});
  ~ProgressMeter();
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;

  // `done` units of `total` are complete.
  void update(std::int64_t done);
  // Ends the bar's line (once; the destructor calls it too).
  void finish();

 private:
  std::string what_, unit_;
  std::int64_t total_, done_ = 0;
  ProgressOptions options_;
  std::chrono::steady_clock::time_point start_, last_line_;
  bool finished_ = false, bar_drawn_ = false;
};

// "H:MM:SS".
std::string format_duration(double seconds);

}  // namespace lagrad
