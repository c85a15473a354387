// Flatten: NCHW -> N x (C*H*W). The layout is already contiguous in that order, so flatten
// is a change of shape only: no dispatch, no arithmetic, identical in both orders.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lockstep::ops {

// [d0, d1, ..., dk] -> [d0 * ... * d(axis-1), d(axis) * ... * dk], as ONNX Flatten.
inline std::vector<uint64_t> flatten_shape(const std::vector<uint64_t>& dims, uint32_t axis = 1) {
  if (axis > dims.size())
    throw std::invalid_argument("flatten: axis " + std::to_string(axis) + " is beyond the tensor's " +
                                std::to_string(dims.size()) + " dimensions");
  uint64_t outer = 1, inner = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 0) throw std::invalid_argument("flatten: dimension " + std::to_string(i) + " is 0: expected >= 1");
    (i < axis ? outer : inner) *= dims[i];
  }
  return {outer, inner};
}

}  // namespace lockstep::ops
