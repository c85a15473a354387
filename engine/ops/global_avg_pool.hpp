// Global average pool: NCHW -> NC. Fixed order: canonical sum over h*w joined across a lane
// group by the subgroup tree (shaders/global_avg_pool_fixed.comp); free: subgroupAdd.
#pragma once
#include "ops/op_common.hpp"
#include "tensor/shapes.hpp"
#include "vk/sequence.hpp"

namespace lockstep::ops {

class GlobalAvgPool {
 public:
  GlobalAvgPool(Device& device, const GlobalAvgPoolShape& shape, const NumericMode& mode);
  void record(Sequence& seq, const Buffer& x, const Buffer& y) const;

 private:
  GlobalAvgPoolShape shape_;
  const Kernel* kernel_ = nullptr;
  uint32_t planes_per_group_ = 1;
};

}  // namespace lockstep::ops
