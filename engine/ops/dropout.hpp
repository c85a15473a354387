// Dropout: identity at inference; with training set (Monte-Carlo dropout), an inverted-dropout
// mask from Philox4x32-10 keyed by (seed, layer, element): shaders/dropout.comp, both orders.
#pragma once
#include "ops/op_common.hpp"
#include "tensor/shapes.hpp"
#include "vk/sequence.hpp"

namespace lockstep::ops {

class Dropout {
 public:
  Dropout(Device& device, const DropoutShape& shape, const NumericMode& mode);
  void record(Sequence& seq, const Buffer& x, const Buffer& y) const;

 private:
  DropoutShape shape_;
  const Kernel* kernel_ = nullptr;
};

}  // namespace lockstep::ops
