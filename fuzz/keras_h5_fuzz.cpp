// Fuzz target: Keras HDF5 weight files (lockstep::keras::load_keras_weights, engine/keras/
// keras_h5.hpp), the `lockstep run --weights FILE.h5` input. The input is written to a scratch
// file (fuzz_util.hpp: /dev/shm, not a memfd, which libhdf5 cannot open) and loaded into a small
// network with convolutions, BatchNorm and Dense layers (fuzz/fuzz_networks.hpp); weights that
// load are then prepared (BatchNorm folded) and run through the CPU reference, as `lockstep run`
// would.
//
// load_keras_weights parses the file in a child process (libhdf5 1.10.8 is not robust against
// crafted files, fuzz/README.md): a crash or hang inside libhdf5 must come back as a
// std::runtime_error, and that is what this target checks, as well as the parent's side (the
// answer's validation, the all-or-nothing update of net.params). The child's coverage counters
// are copied back into this process after each input (forward_* below), so the project's parser
// code in the child guides the fuzzer as if it ran here. libhdf5 itself is a system library
// without coverage instrumentation.
// A std::exception is the expected answer to a bad file; any crash, sanitizer report, timeout
// or out-of-memory of this process is a finding.
#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/common_interface_defs.h>
#define LOCKSTEP_FUZZ_ASAN 1
#endif
#endif

#include "fuzz_networks.hpp"
#include "fuzz_util.hpp"
#include "graph/reference_forward.hpp"
#include "keras/keras_h5.hpp"

namespace lockstep::fuzz {
// fuzz/coverage_region.cpp: the inline 8-bit counters of -fsanitize-coverage, or null.
uint8_t* coverage_counters_begin();
uint8_t* coverage_counters_end();
}  // namespace lockstep::fuzz

namespace {

using lockstep::fuzz::coverage_counters_begin;

struct Coverage {
  uint8_t* shared = nullptr;  // MAP_SHARED: written by the child, read by the parent
  size_t size = 0;
};

Coverage& coverage() {
  static Coverage c = [] {
    Coverage c;
    uint8_t* start = coverage_counters_begin();
    uint8_t* stop = lockstep::fuzz::coverage_counters_end();
    if (start && stop > start) {
      c.size = size_t(stop - start);
      void* p = mmap(nullptr, c.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
      if (p != MAP_FAILED) c.shared = static_cast<uint8_t*>(p);
    }
    return c;
  }();
  return c;
}

void child_start(void*) {
#ifdef LOCKSTEP_FUZZ_ASAN
  // A memory error inside libhdf5 in the child is the failure being isolated, not a finding:
  // keep libFuzzer's death callback (inherited with the fork) from saving a crash input for it.
  __sanitizer_set_death_callback(nullptr);
#endif
}

void child_exit(void*) {
  Coverage& c = coverage();
  if (c.shared) std::memcpy(c.shared, coverage_counters_begin(), c.size);
}

void parent_after(void*) {
  Coverage& c = coverage();
  if (!c.shared) return;
  uint8_t* counters = coverage_counters_begin();
  for (size_t i = 0; i < c.size; ++i) counters[i] = std::max(counters[i], c.shared[i]);
  std::memset(c.shared, 0, c.size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static lockstep::fuzz::ScratchFile file("fuzz.h5");
  static const lockstep::graph::Network base = lockstep::fuzz::keras_network();
  (void)coverage();  // mapped before the first fork
  const std::string& path = file.write(data, size);
  lockstep::graph::Network net = base;
  std::vector<std::string> notes;
  lockstep::keras::LoadOptions options;
  options.cpu_seconds = 3;   // libFuzzer's -timeout is 10 s (scripts/fuzz.sh)
  options.wall_seconds = 8;
  options.memory_bytes = uint64_t(1) << 30;
  options.child_start_hook = child_start;
  options.child_exit_hook = child_exit;
  options.parent_hook = parent_after;
  try {
    lockstep::keras::load_keras_weights(net, path, &notes, options);
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
