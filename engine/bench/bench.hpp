// `lockstep bench` and `bench-op`: a prepared network (graph::prepare) timed on one device in
// one or more numeric modes. Per mode: the network is compiled, run once and verified (see
// Verify), run `warmup` more times, then `reps` timed runs. Every dispatch is timed with GPU
// timestamps where the device has them (DeviceTraits::timestamps); elsewhere only the host's
// wall clock of each run is known and the per-layer table is left empty. Upload and download
// are timed apart from compute (host wall clock, graph::RunTiming).
//
// Work and traffic of a layer, for the whole batch (LayerCost):
//   MACs:  Conv2d n*c_out*out_h*out_w*c_in*kh*kw (taps in the padding included, as frameworks
//          count them); Dense n*in*out; every other layer 0. A layer fused into another (the
//          executor's residual Add into its convolution) is counted in that layer's row.
//   bytes: 4 * (elements of every input tensor + weight + bias) read, 4 * output elements
//          written: each tensor counted once, the least traffic the layer can cause. A
//          kernel that re-reads its input from memory moves more; GB/s is therefore a lower
//          bound on the bandwidth the kernel really used.
//   GFLOP/s = 2 * MACs / time; GB/s = (read + written bytes) / time.
// `bench-op` is `bench` on a network of one layer (make_op_network).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/peak.hpp"
#include "bench/stats.hpp"
#include "graph/network.hpp"
#include "numerics/contract.hpp"
#include "vk/device.hpp"

namespace lockstep::bench {

struct LayerCost {
  uint64_t macs = 0;
  uint64_t bytes_read = 0, bytes_written = 0;
};
LayerCost layer_cost(const graph::Network& net, uint32_t layer, uint32_t batch);

// How the output of the benchmarked kernels is checked before anything is timed.
enum class Verify {
  // Every layer at full size, from the device's own input to that layer: Conv2d and Dense on a
  // sample of output channels / units (first, last and two in between: different tiles), every
  // other layer whole, computed by the CPU reference. Fixed order: bit for bit (memcmp). Free
  // order: relative RMS difference <= kFreeLayerTolerance. The timed network's final output
  // must also equal the verified one (fixed order: bit for bit). Cheap: ~1% of a reference pass.
  Sampled,
  // The timed network's final output against a whole CPU reference forward pass at full size
  // (fixed: memcmp; free: relative RMS <= kFreeOutputTolerance). Costs a reference pass per
  // denormal rule (minutes for VGG19 at 224).
  Full,
  None,
};
Verify parse_verify(const std::string& s);
const char* verify_name(Verify v);

// Free order may sum in any order: a reduction of K terms is then off by ~sqrt(K) roundings
// (VGG19's fc1, K = 25088, measured 5e-6 at subgroup 16). A broken kernel (a wrong tap, channel
// or tile edge) is off by O(1).
inline constexpr double kFreeLayerTolerance = 1e-4;
inline constexpr double kFreeOutputTolerance = 1e-3;
inline constexpr uint32_t kSampledChannels = 4;

struct BenchOptions {
  std::vector<NumericMode> modes;  // in this order; the first free one is the ratios' denominator
  uint32_t batch = 1;
  uint32_t warmup = 2;  // runs after the verified first run, not timed
  uint32_t reps = 5;    // timed runs
  Verify verify = Verify::Sampled;
  bool host_timing = false;  // ignore timestamps even where the device has them
  bool interleave = true;    // time the modes' reps in turn (needs all their networks in memory at once)
  bool peak_alongside = true;  // re-measure the fp32 ceiling after every round of timed runs (PeakProbe)
};

struct Verification {
  std::string method;         // verify_name()
  bool passed = false;
  bool bit_exact = false;     // fixed order: every compared value equal bit for bit
  uint64_t compared = 0;      // values compared
  uint64_t mismatches = 0;    // fixed order: values that differ
  double max_rel_rms = 0.0;   // worst relative RMS difference (per layer, or of the output)
  std::string first_failure;  // where and how, when not passed
  double ms = 0.0;            // host time the verification took
};

struct LayerResult {
  uint32_t index = 0;
  std::string name, kind;
  std::vector<std::string> kernels;  // each dispatch's label: the op's kernel variant
  std::vector<std::string> fused;    // later layers this one also computes (a residual Add fused
                                     // into its convolution); they get no row of their own
  uint32_t dispatches = 0;
  std::optional<Stats> ms;           // sum of the layer's dispatches per run; none with host timing
  LayerCost cost;
};

struct ModeResult {
  NumericMode mode;
  std::optional<std::string> refused;  // the device cannot run this mode (nothing else is set)
  Verification verification;
  double build_ms = 0;           // CompiledNetwork: kernels (pipelines), weight upload, buffers
  double first_run_ms = 0;       // the first run() (includes lazy shader compilation, e.g. lavapipe's LLVM)
  std::optional<double> first_run_gpu_ms;  // its dispatches' GPU time
  Stats compute_ms;              // submit to fence of the recorded sequence (host wall clock)
  std::optional<Stats> gpu_ms;   // sum of all dispatches' GPU timestamps
  Stats upload_ms, download_ms;  // the input's upload, the output's download
  Stats cpu_ms;                  // CPU time of all the process's threads per run (transfers included)
  uint64_t weight_bytes = 0, activation_bytes = 0;
  std::vector<LayerResult> layers;  // layers with at least one dispatch, in order
};

struct BenchResult {
  std::string timing;  // "gpu_timestamps" or "host"
  uint32_t batch = 1, warmup = 0, reps = 0;
  bool interleaved = false;  // the modes' timed runs took turns (else each mode's ran in a row)
  std::string peak_probe;             // what PeakProbe measured ("" when off)
  std::vector<double> peak_alongside; // its GFLOP/s, one sample per round of timed runs
  uint64_t macs = 0;   // conv + dense, whole batch
  std::vector<ModeResult> modes;
  bool verified() const;  // every mode that ran passed its verification
};

// The modes' order in round `round` of interleaved timing, a balanced Latin square: over
// 2 x modes rounds every mode runs twice in each slot and every ordered pair of modes is
// adjacent equally often, so no mode always runs first, last, or right after the same other.
std::vector<size_t> turn_order(uint32_t round, size_t modes);

// Runs the benchmark; a verification failure stops that mode before timing (its result has
// passed = false and no times) and the next mode runs.
BenchResult run_bench(Device& device, const graph::Network& prepared, const std::vector<float>& input,
                      const BenchOptions& options);

// The comparison behind Verify::Sampled, from every layer's device output (`layers[i]`, whole
// batch, as CompiledNetwork::layer_output gives it) and the timed network's final output.
Verification check_layers(const graph::Network& net, const NumericMode& mode, uint32_t batch,
                          const std::vector<std::vector<float>>& layers, const std::vector<float>& timed_output);

// A network of one op for `bench-op`, with synthetic weights. `op`: conv2d, dense, maxpool,
// avgpool, gap (global average pool), add, relu, softmax. `shape`: comma-separated key=value:
//   conv2d  c=,h=,w=,co=,k= (or kh=,kw=), s= (stride), p= (padding), bias=0|1, relu=0|1
//   dense   in=,out=, bias=, relu=
//   maxpool, avgpool  c=,h=,w=,k=,s=,p=
//   gap  c=,h=,w=      add, relu  c=,h=,w=      softmax  n= (classes)
// Throws std::invalid_argument naming the key and what was expected.
graph::Network make_op_network(const std::string& op, const std::string& shape);

}  // namespace lockstep::bench
