// Result files: safetensors (an 8-byte little-endian header length, a JSON header, raw
// little-endian tensors), readable by NumPy users without lockstep. Metadata holds strings.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lockstep::io {

struct ResultTensor {
  std::string name;
  std::vector<uint64_t> shape;
  std::vector<float> data;  // float32, C order
};

// Writes to a temporary name and renames it into place, so a failed or interrupted write
// never leaves a partial file; throws std::runtime_error naming the file.
void write_safetensors(const std::string& path, const std::vector<ResultTensor>& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace lockstep::io
