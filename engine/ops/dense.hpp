// Dense (fully connected): x [n][in], weight [out][in], optional bias and fused ReLU.
// Split-K over a group of G lanes, R rows per group, rows read as vec4s (texel buffers where
// the device reads them exactly, else storage buffers) — shaders/dense.glsl. Fixed order joins
// the canonical slices of plan_dense_reduction with the lanes' trees and the xor-butterfly
// (shaders/dense_fixed.comp); free order sums as it likes (shaders/dense_free.comp).
// A weight larger than one storage binding may cover (lavapipe: 128 MiB; VGG19 fc6 is
// 392 MiB) is uploaded as chunks of whole rows and dispatched chunk by chunk.
#pragma once
#include <span>
#include <string>
#include <vector>

#include "ops/op_common.hpp"
#include "tensor/shapes.hpp"
#include "vk/sequence.hpp"

namespace lockstep::ops {

struct DenseWeights {
  std::vector<Buffer> chunks;
  uint32_t rows_per_chunk = 0;
};

// Splits `weight` into chunks that each fit the device's binding range.
DenseWeights upload_dense_weights(Device& device, const DenseShape& shape, std::span<const float> weight);

// Overrides of the device's choice (tests); 0: let the op choose.
struct DenseOptions {
  uint32_t rows = 0;         // R, output rows per lane group
  uint32_t lanes = 0;        // G, a power of two no larger than the device's smallest subgroup
  bool allow_texel = true;   // false: storage buffers even where texel buffers would do
};

class Dense {
 public:
  Dense(Device& device, const DenseShape& shape, const NumericMode& mode, const DenseOptions& options = {});
  void record(Sequence& seq, const Buffer& x, const DenseWeights& weight, const Buffer& bias, const Buffer& y) const;
  const DenseShape& shape() const { return shape_; }
  std::string describe() const;  // e.g. "dense 4 rows x 8 lanes, texel, 7 vec4s per slice"

 private:
  DenseShape shape_;
  const Kernel* kernel_ = nullptr;
  uint32_t workgroup_ = 0;
  uint32_t rows_ = 4, lanes_ = 8, slice_vecs_ = 0;
  bool texel_ = false, fixed_ = false;
};

}  // namespace lockstep::ops
