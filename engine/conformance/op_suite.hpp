// The op conformance suite: every op on shapes that include odd sizes, with inputs that
// include negatives, zeros, denormals and values near overflow, run on a device in every
// fixed contract it can honour and in free order; fixed output compared with the canonical
// CPU reference bit for bit, both orders measured against the float64 oracle, every output
// hashed (XXH3-128) so processes with different devices or subgroup sizes can be compared.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "numerics/contract.hpp"
#include "vk/device.hpp"

namespace lockstep::conformance {

struct ErrorStats {
  double max_abs = 0.0;       // max |y - oracle| over finite oracle values
  double rel_rms = 0.0;       // rms(y - oracle) / rms(oracle)
  uint64_t max_ulp = 0;       // max ULP distance from the oracle rounded to float
  uint64_t compared = 0;
  uint64_t nonfinite_mismatch = 0;  // oracle finite but y not, or the reverse
};

struct OpRun {
  std::string op;        // "conv2d", "dense", ...
  std::string case_name;
  NumericMode mode;
  std::optional<std::string> refused;  // the device refused this contract, and why
  uint64_t elements = 0;
  std::string hash;       // XXH3-128 of the output bytes, hex
  // Fixed order: the comparison with the canonical reference.
  bool bit_exact = false;
  uint64_t mismatches = 0;
  uint64_t first_mismatch = 0;
  float device_value = 0.0f, reference_value = 0.0f;
  ErrorStats error;       // against the float64 oracle
  std::vector<float> output;  // kept when SuiteOptions::keep_outputs
};

struct SuiteOptions {
  std::string op_filter;   // empty: every op; else exact op name
  bool include_fma = true;  // run fma contracts where the device allows them
  bool keep_outputs = false;
  uint64_t seed = 20261122;
};

std::vector<std::string> op_names();
std::vector<OpRun> run_op_suite(Device& device, const SuiteOptions& options);

// Hex XXH3-128 of a float array's bytes.
std::string hash_floats(const std::vector<float>& v);
ErrorStats error_against(const std::vector<float>& y, const std::vector<double>& oracle);

}  // namespace lockstep::conformance
