// Reading lockstep result files (safetensors written by `lockstep run --save`, see
// engine/io/result_file.hpp) as untrusted input: every length, offset and shape is checked
// before anything is allocated or read, and every tensor must match the XXH3-128 fingerprint
// its metadata records. Anything wrong throws ResultFileError, whose message starts with the
// file's name and says what is wrong.
//
// Accepted layout (https://github.com/huggingface/safetensors, "Format"):
//   8 bytes   N, little-endian unsigned: the length of the JSON header
//   N bytes   a JSON object starting with '{', padded with trailing spaces;
//             "__metadata__": {string: string}, and per tensor
//             "NAME": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}
//   rest      the data section: every byte belongs to exactly one tensor (no gaps, no overlaps)
// Lockstep's own rules on top: metadata "format" is "lockstep-result-1" and names the order,
// contract, denormal rule, model, weight, input and preprocessing identity; every tensor NAME
// has a metadata entry "NAME.xxh3_128" holding the 32 hex digits of XXH3-128 over its bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "numerics/contract.hpp"

namespace lockstep::report {

inline constexpr std::string_view kResultFormat = "lockstep-result-1";

// Metadata keys every lockstep result file must carry (besides the per-tensor fingerprints).
inline constexpr std::string_view kRequiredMetadata[] = {
    "format", "order", "contract", "denormals", "model", "weights.xxh3_128", "input.xxh3_128", "preprocess"};

class ResultFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Tensor {
  std::string name;
  std::vector<uint64_t> shape;
  std::vector<float> data;  // float32, C order
  std::string xxh3_128;     // the verified fingerprint, 32 lowercase hex digits

  uint64_t elements() const { return data.size(); }
};

struct ResultFile {
  std::string path;                             // as given (or the name passed to parse_result_bytes)
  std::map<std::string, std::string> metadata;  // "__metadata__", verbatim
  std::vector<Tensor> tensors;                  // in tensor_order(): layers by index, then "output", then the rest

  const Tensor* find(std::string_view name) const;
  // The metadata value, or "" when the key is absent.
  const std::string& meta(const std::string& key) const;
  // order/contract/denormals from the metadata (validated by the reader).
  NumericMode mode() const;
};

struct ReadLimits {
  uint64_t max_header_bytes = 100ull << 20;  // as the safetensors reference implementation
  uint64_t max_file_bytes = 64ull << 30;
  uint64_t max_tensors = 1u << 20;
  uint64_t max_rank = 16;
  uint64_t max_json_depth = 16;  // lockstep headers nest 3 deep
};

// Reads and validates a result file; tensors are read straight into their vectors (no copy
// of the whole file), after the header has been checked against the file's real size.
ResultFile read_result_file(const std::string& path, const ReadLimits& limits = {});

// The same checks on bytes already in memory (fuzzing, tests); `name` is used in messages.
ResultFile parse_result_bytes(const uint8_t* data, size_t size, const std::string& name,
                              const ReadLimits& limits = {});

// XXH3-128 of the bytes as 32 lowercase hex digits, high 64 bits first (what `lockstep run` writes).
std::string xxh3_128_hex(const void* data, size_t bytes);

// The layer index of a tensor named "layer.<index>.<name>", if it is one.
std::optional<uint64_t> layer_index(std::string_view tensor_name);

// Strict weak order used for every report: layer tensors by index, then "output", then other
// names alphabetically.
bool tensor_order(std::string_view a, std::string_view b);

}  // namespace lockstep::report
