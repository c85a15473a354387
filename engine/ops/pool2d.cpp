#include "ops/pool2d.hpp"

#include <vector>

#include "numerics/fixed_arith.hpp"
#include "numerics/reduction_plan.hpp"

namespace lockstep::ops {

namespace {
struct Push {
  uint32_t planes, h, w, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w, slices, per_slice, include_pad;
};
}  // namespace

Pool2d::Pool2d(Device& device, const Pool2dShape& shape, const NumericMode& mode) : shape_(shape) {
  shape_.validate();
  const uint32_t is_max = shape.kind == PoolKind::Max ? 1u : 0u;
  kernel_ = &device.kernel(kernel_for(device, mode, "pool2d", "pool2d", 3, sizeof(Push), kElementWorkgroup,
                                      {{kSpecFlagA, is_max}}));
  std::vector<float> recip(shape.kh * shape.kw + 1, 0.0f);
  for (uint32_t i = 1; i < recip.size(); ++i) recip[i] = host_reciprocal(i);
  reciprocals_ = device.upload_new<float>(recip);
}

void Pool2d::record(Sequence& seq, const Buffer& x, const Buffer& y) const {
  const Pool2dShape& s = shape_;
  const ReductionPlan plan = plan_reduction(s.kh * s.kw, 1);
  const Push p{s.n * s.c,  s.h,       s.w,         s.kh,          s.kw,
               s.stride_h, s.stride_w, s.pad_top, s.pad_left, s.out_h(),
               s.out_w(),  plan.slices, plan.per_slice, s.count_include_pad ? 1u : 0u};
  seq.dispatch(*kernel_, {{&x}, {&reciprocals_}, {&y}}, p, groups_for(s.output_elements(), kElementWorkgroup),
               s.kind == PoolKind::Max ? "max_pool" : "average_pool");
}

}  // namespace lockstep::ops
