// Fuzz target: lockstep result files (safetensors written by `lockstep run --save`, read back by
// `lockstep compare`): lockstep::report::parse_result_bytes (engine/report/result_reader.hpp).
// A file that parses is then checked against the reader's promises (shapes match the data, every
// fingerprint verified, the numeric mode readable, tensors in tensor_order()).
// A std::exception is the expected answer to a bad file; any crash, sanitizer report, timeout or
// out-of-memory is a finding. Built once engine/report/ exists (fuzz/CMakeLists.txt).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>

#include "report/result_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lockstep::report;
  try {
    const ResultFile f = parse_result_bytes(data, size, "fuzz.safetensors");
    for (const Tensor& t : f.tensors) {
      uint64_t n = 1;
      for (uint64_t d : t.shape) n *= d;
      if (n != t.data.size()) __builtin_trap();
      if (t.xxh3_128 != xxh3_128_hex(t.data.data(), t.data.size() * sizeof(float))) __builtin_trap();
      if (f.find(t.name) != &t) __builtin_trap();
    }
    if (!std::is_sorted(f.tensors.begin(), f.tensors.end(),
                        [](const Tensor& a, const Tensor& b) { return tensor_order(a.name, b.name); }))
      __builtin_trap();
    (void)f.mode();
  } catch (const std::exception&) {
  }
  return 0;
}
