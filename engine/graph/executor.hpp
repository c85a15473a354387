// A prepared network (graph::prepare) compiled for one device, batch size and numeric mode:
// weights uploaded once (flushed under ftz), activation buffers planned so that a buffer is
// reused once its last reader has run, one command sequence recording the whole network and
// reused across runs (re-recorded only when the Monte-Carlo dropout seed changes). A network
// that cannot fit the device is refused before anything is allocated, with the numbers.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "graph/network.hpp"
#include "numerics/contract.hpp"
#include "vk/device.hpp"
#include "vk/sequence.hpp"

namespace lockstep::graph {

struct ExecuteOptions {
  uint32_t batch = 1;
  NumericMode mode;
  bool keep_layer_outputs = false;  // no buffer reuse: every layer's output stays readable
  bool mc_dropout = false;          // Dropout layers drop (seeded per run) instead of passing through
  bool timestamps = false;          // GPU timestamps around every dispatch
};

// Host wall-clock times of the last run(), in milliseconds: the input's upload (host flush,
// staging, copy), the recorded sequence (submit to fence), the output's download.
struct RunTiming {
  double upload_ms = 0.0, execute_ms = 0.0, download_ms = 0.0;
};

class CompiledNetwork {
 public:
  CompiledNetwork(Device& device, const Network& prepared, const ExecuteOptions& options);
  ~CompiledNetwork();
  CompiledNetwork(const CompiledNetwork&) = delete;
  CompiledNetwork& operator=(const CompiledNetwork&) = delete;

  // `input` holds batch * input elements (NCHW); returns the last layer's output for the batch.
  std::vector<float> run(std::span<const float> input, uint64_t dropout_seed = 0);
  // Layer `index`'s output from the last run, for the whole batch. Every layer with
  // keep_layer_outputs; otherwise only the input and the last layer.
  std::vector<float> layer_output(uint32_t index);

  const Network& network() const { return net_; }
  uint64_t activation_bytes() const { return activation_bytes_; }  // peak, after reuse
  uint64_t weight_bytes() const { return weight_bytes_; }
  std::vector<DispatchTiming> timings() const;
  const RunTiming& last_run_timing() const { return last_run_timing_; }

 private:
  struct Impl;
  void record(uint64_t dropout_seed);
  // Throws std::runtime_error with the numbers when the weights and the planned activation
  // buffers cannot fit the device (its memory budget, or maxMemoryAllocationSize for one buffer).
  void check_fits(const Device& device, const std::vector<uint64_t>& activation_buffers) const;

  Device& device_;
  Network net_;
  ExecuteOptions options_;
  std::unique_ptr<Impl> impl_;
  uint64_t activation_bytes_ = 0, weight_bytes_ = 0;
  RunTiming last_run_timing_;
};

}  // namespace lockstep::graph
