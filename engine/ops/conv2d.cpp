#include "ops/conv2d.hpp"

#include "numerics/reduction_plan.hpp"

namespace lockstep::ops {

namespace {
struct Push {
  uint32_t n, c_in, h, w, c_out, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w, slices, per_slice;
};
}  // namespace

Conv2d::Conv2d(Device& device, const Conv2dShape& shape, const NumericMode& mode) : shape_(shape) {
  shape_.validate();
  kernel_ = &device.kernel(kernel_for(device, mode, "conv2d_fixed", "conv2d_free", 4, sizeof(Push), kElementWorkgroup,
                                      {{kSpecFlagA, shape.bias ? 1u : 0u}, {kSpecFlagB, shape.relu ? 1u : 0u}}));
}

void Conv2d::record(Sequence& seq, const Buffer& x, const Buffer& weight, const Buffer& bias, const Buffer& y) const {
  const Conv2dShape& s = shape_;
  const ReductionPlan plan = plan_reduction(s.c_in, s.kh * s.kw);
  const Push p{s.n,        s.c_in,      s.h,       s.w,       s.c_out,    s.kh,        s.kw,       s.stride_h,
               s.stride_w, s.pad_top,   s.pad_left, s.out_h(), s.out_w(), plan.slices, plan.per_slice};
  seq.dispatch(*kernel_, {{&x}, {&weight}, {&bias}, {&y}}, p, groups_for(s.output_elements(), kElementWorkgroup),
               "conv2d");
}

}  // namespace lockstep::ops
