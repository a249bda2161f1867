// `lagrad bench peak`: this machine's FP32 FMA peak as this build reaches it (core/peak_flops.h):
// a register-only kernel of independent multiply-add chains in the widest vector ISA the build
// targets, on one thread and on each --threads count (one copy per thread, concurrently).
// The other benchmarks measure the same figure around their own runs and report
// fraction_of_peak = their achieved GFLOP/s / this peak at the same thread count.
#include <thread>

#include "core/peak_flops.h"
#include "registry.h"

namespace lagrad::tool {
namespace {

BenchRegistrar reg({"peak", "FP32 FMA peak GFLOP/s of this build's widest vector ISA, per thread count (register-only kernel)",
                    [](const BenchOptions& opt, Json& out) {
                      const PeakFlopsKernel k = peak_flops_kernel();
                      out.set("isa", k.isa);
                      out.set("lanes", k.lanes);
                      out.set("chains", k.chains);
                      out.set("flops_per_iteration", k.flops_per_iteration());
                      out.set("hardware_threads", static_cast<int>(std::thread::hardware_concurrency()));
                      Json runs = Json::array();
                      for (int t : opt.threads) {
                        const PeakFlops p = measure_peak_flops(t, 0.1, std::max(opt.repeats, 1));
                        Json r = Json::object();
                        r.set("threads", t);
                        r.set("gflops", p.gflops);
                        r.set("gflops_per_thread", p.gflops / t);
                        r.set("seconds", p.seconds);
                        r.set("checksum", static_cast<double>(p.checksum));
                        runs.push(std::move(r));
                      }
                      out.set("runs", std::move(runs));
                    }});

}  // namespace
}  // namespace lagrad::tool
