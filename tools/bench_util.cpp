#include "bench_util.h"

#include <fstream>
#include <string>

namespace lagrad::tool {

double peak_rss_mib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0.0;
}

Json PeakAround::json() const {
  Json j = Json::object();
  j.set("isa", peak_flops_kernel().isa);
  j.set("threads", threads);
  j.set("gflops", gflops());
  j.set("before_gflops", before_gflops);
  j.set("after_gflops", after_gflops);
  return j;
}

bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  if (!f) return false;
  f << "5";
  return static_cast<bool>(f);
}

}  // namespace lagrad::tool
