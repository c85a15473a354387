#include "ops/global_avg_pool.hpp"

#include <algorithm>

#include "numerics/fixed_arith.hpp"
#include "numerics/reduction_plan.hpp"

namespace lockstep::ops {

namespace {
struct Push {
  uint32_t planes, hw, slices, per_slice;
  float inv_hw;
};
}  // namespace

GlobalAvgPool::GlobalAvgPool(Device& device, const GlobalAvgPoolShape& shape, const NumericMode& mode) : shape_(shape) {
  shape_.validate();
  const uint32_t wg = device.subgroup_workgroup_size();
  planes_per_group_ = std::max<uint32_t>(1, wg / std::max<uint32_t>(1, device.traits().max_subgroup_size));
  kernel_ = &device.kernel(kernel_for(device, mode, "global_avg_pool_fixed", "global_avg_pool_free", 2, sizeof(Push), wg,
                                      {}, /*full_subgroups=*/true));
}

void GlobalAvgPool::record(Sequence& seq, const Buffer& x, const Buffer& y) const {
  const uint32_t hw = shape_.h * shape_.w;
  const ReductionPlan plan = plan_reduction(hw, 1);
  const uint32_t planes = shape_.n * shape_.c;
  const Push p{planes, hw, plan.slices, plan.per_slice, host_reciprocal(hw)};
  seq.dispatch(*kernel_, {{&x}, {&y}}, p, std::min<uint64_t>(groups_for(planes, planes_per_group_), 65535),
               "global_average_pool");
}

}  // namespace lockstep::ops
