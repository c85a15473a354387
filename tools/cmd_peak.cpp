// `lockstep peak`: the device's measured ceilings (engine/bench/peak.hpp), printed as a table
// or written as JSON, and cached for `lockstep bench`.
#include <cstdio>
#include <iostream>

#include "bench/bench_report.hpp"
#include "bench/peak.hpp"
#include "cmd_bench.hpp"
#include "vk/device.hpp"

namespace lockstep::cli {

int peak(Context& ctx, const PeakCliOptions& o) {
  bench::PeakOptions po;
  po.target_ms = o.ms;
  po.reps = o.reps;
  po.chains = o.chains;
  po.fp16 = !o.no_fp16;
  po.host_timing = o.host_timing;
  po.copy_bytes = uint64_t(o.copy_mib) << 20;
  if (o.reps == 0) throw std::invalid_argument("--reps 0: expected >= 1");
  if (o.copy_mib == 0) throw std::invalid_argument("--copy-mib 0: expected >= 1");
  const auto devices = ctx.select(o.device);
  for (uint32_t di : devices) {
    Device device(ctx, di);
    if (o.json != "-") std::fprintf(stderr, "measuring the peak of device %u (%s) ...\n", di, device.traits().name.c_str());
    const bench::PeakResult r = bench::measure_peak(device, po);
    const nlohmann::json j = bench::peak_json(r, device.traits(), bench::utc_now());
    // Only a whole measurement (every variant, full-size dispatches, GPU timestamps) is what
    // `bench` compares against.
    const bool cache = bench::cacheable(po);
    if (cache) bench::save_peak_cache(device.traits(), j);
    if (o.json.empty()) {
      std::printf("device %u: %s", di, bench::peak_text(r, device.traits()).c_str());
      const auto cache_path = bench::peak_cache_path(device.traits());
      if (cache && !cache_path.empty()) std::printf("  cached for lockstep bench: %s\n", cache_path.c_str());
    } else if (o.json == "-") {
      std::cout << j.dump(1) << "\n";
    } else {
      const std::string path = write_json_for_device(j, o.json, di, devices.size());
      std::printf("device %u: %s", di, bench::peak_text(r, device.traits()).c_str());
      std::printf("  wrote %s\n", path.c_str());
    }
  }
  return 0;
}

}  // namespace lockstep::cli
