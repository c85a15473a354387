// Fuzz target: Keras HDF5 weight files (lockstep::keras::load_keras_weights, engine/keras/
// keras_h5.hpp), the `lockstep run --weights FILE.h5` input. The input is written to a scratch
// file (fuzz_util.hpp: /dev/shm, not a memfd, which libhdf5 cannot open) and loaded into a small network with
// convolutions, BatchNorm and Dense layers (fuzz/fuzz_networks.hpp); weights that load are then
// prepared (BatchNorm folded) and run through the CPU reference, as `lockstep run` would.
// libhdf5 is a system library without coverage instrumentation: the fuzzer is guided by the
// project's code around it only, so the seed corpus matters more here than elsewhere.
// A std::exception is the expected answer to a bad file; any crash, sanitizer report, timeout
// or out-of-memory is a finding.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "fuzz_networks.hpp"
#include "fuzz_util.hpp"
#include "graph/reference_forward.hpp"
#include "keras/keras_h5.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static lockstep::fuzz::ScratchFile file("fuzz.h5");
  static const lockstep::graph::Network base = lockstep::fuzz::keras_network();
  const std::string& path = file.write(data, size);
  lockstep::graph::Network net = base;
  std::vector<std::string> notes;
  try {
    lockstep::keras::load_keras_weights(net, path, &notes);
  } catch (const std::exception&) {
    if (!net.params.empty()) __builtin_trap();  // "net.params is changed only when the whole file loaded"
    return 0;
  }
  try {
    net.check_params();
    lockstep::graph::prepare(net);
    const std::vector<float> input(net.layers[0].out.elements(), 0.5f);
    (void)lockstep::graph::reference_forward(net, input, {});
  } catch (const std::exception&) {
  }
  return 0;
}
