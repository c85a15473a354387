// Conv2d: NCHW input, OIHW weight, optional bias and fused ReLU; strides, asymmetric padding.
// Fixed order: shaders/conv2d_fixed.comp (canonical plan over input channels, see
// numerics/reduction_plan.hpp); free order: shaders/conv2d_free.comp.
#pragma once
#include "ops/op_common.hpp"
#include "tensor/shapes.hpp"
#include "vk/sequence.hpp"

namespace lockstep::ops {

class Conv2d {
 public:
  Conv2d(Device& device, const Conv2dShape& shape, const NumericMode& mode);
  // `bias` is ignored (but must be a valid buffer) when the shape has no bias.
  void record(Sequence& seq, const Buffer& x, const Buffer& weight, const Buffer& bias, const Buffer& y) const;
  const Conv2dShape& shape() const { return shape_; }

 private:
  Conv2dShape shape_;
  const Kernel* kernel_ = nullptr;
};

}  // namespace lockstep::ops
