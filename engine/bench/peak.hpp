// `lockstep peak`: the device's measured ceilings, in the manner of vkpeak. Multiply-add rate
// (GFLOP/s, 2 FLOPs per multiply-add) of fp32 and, where shaderFloat16 is supported, fp16,
// scalar and vec4, with 1..16 independent chains per invocation, as a multiply then an add and
// as fma(); and device-memory copy bandwidth (GB/s, bytes read + bytes written), by a compute
// shader and by vkCmdCopyBuffer. Shaders: shaders/peak_*.comp.
//
// Every figure is timed with GPU timestamps where the device has them (host wall clock around
// submit-and-wait otherwise), after a warm-up dispatch (which also absorbs lazy shader
// compilation), with enough work per dispatch (`target_ms`) that launch costs vanish; the best
// of `reps` dispatches is the figure, the median is reported beside it. Every checksum written
// by the shaders is verified on the host, so no work can have been optimised away.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vk/device.hpp"

namespace lockstep::bench {

struct PeakOptions {
  double target_ms = 100.0;                  // work per timed dispatch
  uint32_t reps = 3;                         // timed dispatches per variant, after one warm-up
  std::vector<uint32_t> chains = {1, 2, 4, 8, 16};  // independent chains per invocation (1, 2, 4, 8 or 16)
  bool fp16 = true;                          // also fp16 where the device supports it
  bool fma = true;                           // also the fma() variants
  bool scalar = true;                        // also the scalar variants
  uint64_t copy_bytes = 64ull << 20;         // size of each copy buffer (capped by the device's limits)
  bool host_timing = false;                  // time with the host clock even where timestamps exist
};

struct MadVariant {
  std::string precision;  // "fp32" or "fp16"
  uint32_t width = 1;     // 1 (scalar) or 4 (vec4)
  uint32_t chains = 1;
  bool fma = false;       // fma() instead of multiply then add
  uint64_t invocations = 0, iters = 0;
  double flops = 0;       // per dispatch: invocations * iters * 4 steps * chains * width * 2
  double best_ms = 0, median_ms = 0;
  double gflops = 0;         // from best_ms
  double median_gflops = 0;  // from median_ms
  bool verified = false;     // every invocation's checksum matched the host's recurrence
  std::string name() const;  // e.g. "fp32 vec4 8 chains mul+add"
};

struct CopyResult {
  std::string method;  // "shader, N vec4/invocation" (peak_copy.comp) or "vkCmdCopyBuffer"
  uint64_t bytes = 0;  // per buffer; a copy moves 2 * bytes
  double best_ms = 0, median_ms = 0;
  double gbps = 0, median_gbps = 0;  // (read + written bytes) / time
  bool verified = false;             // the destination equals the source
};

struct PeakResult {
  std::string timing;  // "gpu_timestamps" or "host"
  std::vector<MadVariant> variants;
  std::vector<CopyResult> copies;
  double fp32_gflops = 0;         // max over the fp32 variants: the "peak" bench uses
  std::string fp32_best_variant;
  double fp32_scalar_gflops = 0, fp32_vec4_gflops = 0;
  std::optional<double> fp16_gflops;  // absent where shaderFloat16 is not supported
  double copy_gbps = 0;           // best of every copy: the device-memory bandwidth bench compares with
  double shader_copy_gbps = 0;    // best shader copy: what a compute kernel streams (on a CPU driver
                                  // far below copy_gbps: every lane's load is a separate access)
  bool fp16_supported = false;    // shaderFloat16
  double wall_s = 0;              // how long the measurement took
};

PeakResult measure_peak(Device& device, const PeakOptions& options = {});

// Whether a measurement with these options may be cached for `lockstep bench`: every fp32
// variant (scalar and vec4, mul+add and fma, 1 to 16 chains), dispatches of at least 50 ms,
// GPU timestamps and copies of the default size or larger. A partial one could read lower.
bool cacheable(const PeakOptions& options);

// A fast measurement for `lockstep bench` when no cached result exists: fp32 vec4 with 2, 4 and
// 8 chains, multiply then add and fma, and the copies.
PeakOptions quick_peak_options();

// The fp32 multiply-add ceiling re-measured while a benchmark runs: fp32 vec4 mul+add with 8 and
// with 16 chains, each calibrated once to ~`target_ms` a dispatch (as long as `lockstep peak`'s:
// on lavapipe 20 ms dispatches read ~15% lower); every sample() times one dispatch of each and
// returns the better rate (GFLOP/s). A host whose speed drifts (shared
// machines, frequency scaling) moves this ceiling and the benchmark together, so their ratio
// is the fair "% of peak". verify() checks every invocation's checksum (throws if one is wrong).
class PeakProbe {
 public:
  PeakProbe(Device& device, double target_ms = 100.0, bool host_timing = false);
  ~PeakProbe();
  PeakProbe(const PeakProbe&) = delete;
  PeakProbe& operator=(const PeakProbe&) = delete;
  double sample();
  void verify() const;      // every invocation's checksum of the last dispatches
  std::string name() const;  // e.g. "fp32 vec4 8|16 chains mul+add, 20 ms dispatches"

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lockstep::bench
