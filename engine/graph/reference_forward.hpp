// The whole network on the CPU: the canonical float32 reference (the bits fixed-order devices
// must reproduce, layer by layer) and the float64 oracle.
#pragma once
#include <span>
#include <vector>

#include "graph/network.hpp"
#include "numerics/contract.hpp"

namespace lockstep::graph {

struct ForwardOptions {
  uint32_t batch = 1;
  NumericMode mode;          // mac and denorm used by the reference; order ignored
  bool mc_dropout = false;   // Monte-Carlo dropout: Dropout layers drop with their p
  uint64_t seed = 0;         // dropout seed; the Philox "layer" key is the layer's index
};

// Infers shapes, folds BatchNorm, fuses ReLU and checks the parameters: run it once on a
// network before executing it (device or CPU).
void prepare(Network& net);

// outputs[i] holds layer i's output for the whole batch (batch * elements, NCHW).
// Under ftz the input and every parameter are flushed first, as the device path does.
std::vector<std::vector<float>> reference_forward(const Network& net, std::span<const float> input,
                                                  const ForwardOptions& options);
std::vector<std::vector<double>> oracle_forward(const Network& net, std::span<const float> input,
                                                const ForwardOptions& options);

}  // namespace lockstep::graph
