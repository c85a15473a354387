// Residual add (with optional fused ReLU) and ReLU alone: shaders/eltwise.comp, both orders.
#pragma once
#include "ops/op_common.hpp"
#include "tensor/shapes.hpp"
#include "vk/sequence.hpp"

namespace lockstep::ops {

class Eltwise {
 public:
  enum class Kind { Add, Relu };
  Eltwise(Device& device, Kind kind, const EltwiseShape& shape, const NumericMode& mode);
  // Relu ignores `b` (pass `a` again).
  void record(Sequence& seq, const Buffer& a, const Buffer& b, const Buffer& y) const;

 private:
  Kind kind_;
  EltwiseShape shape_;
  const Kernel* kernel_ = nullptr;
};

}  // namespace lockstep::ops
