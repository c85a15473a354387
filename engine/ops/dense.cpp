#include "ops/dense.hpp"

#include <algorithm>
#include <stdexcept>

#include "numerics/reduction_plan.hpp"

namespace lockstep::ops {

namespace {
struct Push {
  uint32_t n, in, out, row_begin, rows, slices, per_slice;
};
}  // namespace

DenseWeights upload_dense_weights(Device& device, const DenseShape& shape, std::span<const float> weight) {
  shape.validate();
  if (weight.size() != shape.weight_elements())
    throw std::invalid_argument("dense: weight has " + std::to_string(weight.size()) + " values, expected " +
                                std::to_string(shape.weight_elements()) + " (out " + std::to_string(shape.out) +
                                " x in " + std::to_string(shape.in) + ")");
  const uint64_t row_bytes = uint64_t(shape.in) * 4;
  if (row_bytes > device.max_binding_bytes())
    throw std::invalid_argument("dense: one weight row of " + std::to_string(row_bytes) +
                                " bytes exceeds the device's binding range");
  DenseWeights w;
  w.rows_per_chunk = static_cast<uint32_t>(std::min<uint64_t>(shape.out, device.max_binding_bytes() / row_bytes));
  for (uint32_t r0 = 0; r0 < shape.out; r0 += w.rows_per_chunk) {
    const uint32_t rows = std::min(w.rows_per_chunk, shape.out - r0);
    w.chunks.push_back(device.upload_new<float>(weight.subspan(uint64_t(r0) * shape.in, uint64_t(rows) * shape.in)));
  }
  return w;
}

Dense::Dense(Device& device, const DenseShape& shape, const NumericMode& mode) : shape_(shape) {
  shape_.validate();
  workgroup_ = device.subgroup_workgroup_size();
  outputs_per_group_ = std::max<uint32_t>(1, workgroup_ / std::max<uint32_t>(1, device.traits().max_subgroup_size));
  kernel_ = &device.kernel(kernel_for(device, mode, "dense_fixed", "dense_free", 4, sizeof(Push), workgroup_,
                                      {{kSpecFlagA, shape.bias ? 1u : 0u}, {kSpecFlagB, shape.relu ? 1u : 0u}},
                                      /*full_subgroups=*/true));
}

void Dense::record(Sequence& seq, const Buffer& x, const DenseWeights& weight, const Buffer& bias, const Buffer& y) const {
  const DenseShape& s = shape_;
  const ReductionPlan plan = plan_reduction(s.in, 1);
  for (size_t c = 0; c < weight.chunks.size(); ++c) {
    const uint32_t r0 = static_cast<uint32_t>(c) * weight.rows_per_chunk;
    const uint32_t rows = std::min(weight.rows_per_chunk, s.out - r0);
    const Push p{s.n, s.in, s.out, r0, rows, plan.slices, plan.per_slice};
    // Each workgroup takes at least one output per subgroup per pass; the shaders loop over
    // the rest, so the dispatch size never changes what an output is.
    const uint64_t outputs = uint64_t(s.n) * rows;
    seq.dispatch(*kernel_, {{&x}, {&weight.chunks[c]}, {&bias}, {&y}}, p,
                 std::min<uint64_t>(groups_for(outputs, outputs_per_group_), 65535), "dense");
  }
}

}  // namespace lockstep::ops
