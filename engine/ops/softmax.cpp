#include "ops/softmax.hpp"

#include <algorithm>

#include "numerics/reduction_plan.hpp"

namespace lockstep::ops {

namespace {
struct Push {
  uint32_t rows, cols, slices, per_slice;
};
}  // namespace

Softmax::Softmax(Device& device, const SoftmaxShape& shape, const NumericMode& mode)
    : shape_(shape), fixed_(mode.fixed()) {
  shape_.validate();
  // Fixed: one invocation per row; free: one subgroup per row.
  const uint32_t wg = fixed_ ? kElementWorkgroup : device.subgroup_workgroup_size();
  rows_per_group_ = fixed_ ? wg : std::max<uint32_t>(1, wg / std::max<uint32_t>(1, device.traits().max_subgroup_size));
  kernel_ = &device.kernel(kernel_for(device, mode, "softmax_fixed", "softmax_free", 2, sizeof(Push), wg, {}, !fixed_));
}

void Softmax::record(Sequence& seq, const Buffer& x, const Buffer& y) const {
  const ReductionPlan plan = plan_reduction(shape_.cols, 1);
  const Push p{shape_.rows, shape_.cols, plan.slices, plan.per_slice};
  seq.dispatch(*kernel_, {{&x}, {&y}}, p, std::min<uint64_t>(groups_for(shape_.rows, rows_per_group_), 65535), "softmax");
}

}  // namespace lockstep::ops
