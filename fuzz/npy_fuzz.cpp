// Fuzz target: .npy parsing (lockstep::io::parse_npy, engine/io/npy.hpp) — the `lockstep run`
// input tensors. A std::exception is the expected answer to a bad file; any crash, sanitizer
// report, timeout or out-of-memory is a finding.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>
#include <stdexcept>

#include "io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto a = lockstep::io::parse_npy(std::span<const uint8_t>(data, size), "fuzz.npy");
    // What the parser promises: the data matches the shape.
    if (lockstep::io::element_count(a.shape) != a.data.size()) __builtin_trap();
  } catch (const std::exception&) {
  }
  return 0;
}
