#include "core/parallel.h"

#include <tbb/global_control.h>
#include <tbb/info.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace lagrad {

namespace {
std::mutex g_mutex;
std::unique_ptr<tbb::global_control> g_control;
int g_threads = 0;
}  // namespace

void set_num_threads(int n) {
  if (n < 0) throw std::invalid_argument("set_num_threads: expected n >= 0, got " + std::to_string(n));
  std::lock_guard<std::mutex> lock(g_mutex);
  g_control.reset();
  g_threads = n;
  if (n > 0) g_control = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, n);
}

int num_threads() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_threads > 0 ? g_threads : tbb::info::default_concurrency();
}

}  // namespace lagrad
