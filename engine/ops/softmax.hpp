// Softmax over each row. Fixed order: software exp and reciprocal from exact operations,
// canonical sum (shaders/softmax_fixed.comp); free order: exp(), subgroupAdd, division.
#pragma once
#include "ops/op_common.hpp"
#include "tensor/shapes.hpp"
#include "vk/sequence.hpp"

namespace lockstep::ops {

class Softmax {
 public:
  Softmax(Device& device, const SoftmaxShape& shape, const NumericMode& mode);
  void record(Sequence& seq, const Buffer& x, const Buffer& y) const;

 private:
  SoftmaxShape shape_;
  const Kernel* kernel_ = nullptr;
  bool fixed_ = true;
  uint32_t rows_per_group_ = 1;
};

}  // namespace lockstep::ops
