// Fuzz target: ONNX models (lockstep::onnx::import_onnx_bytes, engine/onnx/onnx_import.hpp),
// the `lockstep run --weights FILE.onnx` input. A model that imports is then prepared and, when
// small enough to be quick, run through the CPU reference on a batch of 1, as `lockstep run`
// would: the importer promises a consistent network (shapes inferred, parameters checked), and
// the reference trusts it. libprotobuf is a system library without coverage instrumentation.
// A std::exception is the expected answer to a bad file; any crash, sanitizer report, timeout
// or out-of-memory is a finding.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string_view>
#include <vector>

#include "graph/reference_forward.hpp"
#include "onnx/onnx_import.hpp"

namespace {
// Bounds for running the imported network: keeps one input under a few milliseconds.
constexpr uint64_t kMaxMacs = uint64_t(1) << 22;
constexpr uint64_t kMaxActivation = uint64_t(1) << 18;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lockstep::onnx::ImportOptions options;
  options.input_height = 8;  // used only where the model's H/W are symbolic
  options.input_width = 8;
  lockstep::graph::Network net;
  try {
    net = lockstep::onnx::import_onnx_bytes(std::string_view(reinterpret_cast<const char*>(data), size),
                                            "fuzz.onnx", options);
  } catch (const std::exception&) {
    return 0;
  }
  try {
    lockstep::graph::prepare(net);
    if (net.macs() > kMaxMacs) return 0;
    for (const auto& l : net.layers)
      if (l.out.elements() > kMaxActivation) return 0;
    std::vector<float> input(net.layers[0].out.elements());
    for (size_t i = 0; i < input.size(); ++i) input[i] = float(int(i % 7) - 3) * 0.25f;
    (void)lockstep::graph::reference_forward(net, input, {});
  } catch (const std::exception&) {
  }
  return 0;
}
