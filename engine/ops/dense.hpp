// Dense (fully connected): x [n][in], weight [out][in], optional bias and fused ReLU.
// Split-K: fixed order joins the canonical slices with the subgroup xor-butterfly
// (shaders/dense_fixed.comp); free order uses subgroupAdd (shaders/dense_free.comp).
// A weight larger than one storage binding may cover (lavapipe: 128 MiB; VGG19 fc6 is
// 392 MiB) is uploaded as chunks of whole rows and dispatched chunk by chunk.
#pragma once
#include <span>
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

class Dense {
 public:
  Dense(Device& device, const DenseShape& shape, const NumericMode& mode);
  void record(Sequence& seq, const Buffer& x, const DenseWeights& weight, const Buffer& bias, const Buffer& y) const;
  const DenseShape& shape() const { return shape_; }

 private:
  DenseShape shape_;
  const Kernel* kernel_ = nullptr;
  uint32_t workgroup_ = 0;
  uint32_t outputs_per_group_ = 1;  // at least this many outputs per workgroup per pass
};

}  // namespace lockstep::ops
