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

namespace {
uint32_t pow2_floor(uint32_t v) {
  uint32_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}
uint32_t log2_of(uint32_t pow2) {
  uint32_t l = 0;
  while ((1u << l) < pow2) ++l;
  return l;
}
// Specialization constants of shaders/dense.glsl and dense_fixed.comp.
enum : uint32_t { kSpecRows = 10, kSpecLanes, kSpecVec, kSpecSliceVecs, kSpecLaneLevels };
}  // namespace

Dense::Dense(Device& device, const DenseShape& shape, const NumericMode& mode, const DenseOptions& options)
    : shape_(shape), fixed_(mode.fixed()) {
  shape_.validate();
  const DeviceTraits& t = device.traits();
  const bool cpu = t.device_type == "cpu";
  workgroup_ = device.subgroup_workgroup_size();
  const ReductionPlan plan = plan_dense_reduction(shape_.in);
  // G lanes per output: a power of two within the smallest subgroup (and, in fixed order, at
  // most the number of slices); R rows per group reuse each input vec4 (R + 1 reads per 4R
  // multiply-adds): CPU drivers pay per read, GPUs want more rows in flight. On CPU drivers
  // up to 16 lanes: at subgroup size 16, 16 lanes instead of 8 ran VGG's fc1 (25088 -> 4096)
  // in fixed order in 44 ms instead of 55-57 (free order 39-47 either way; bench-op, taking
  // turns), each lane streaming half as many slices.
  const uint32_t sg_min = std::max<uint32_t>(1, t.min_subgroup_size ? t.min_subgroup_size : t.subgroup_size);
  lanes_ = options.lanes ? options.lanes : std::min<uint32_t>(cpu ? 16 : 32, pow2_floor(sg_min));
  if ((lanes_ & (lanes_ - 1)) != 0 || lanes_ > pow2_floor(sg_min))
    throw std::invalid_argument("dense: lanes must be a power of two no larger than the subgroup size (" +
                                std::to_string(sg_min) + ")");
  if (fixed_) lanes_ = std::min(lanes_, plan.slices);
  rows_ = options.rows ? options.rows : (cpu ? 4 : 2);
  slice_vecs_ = plan.per_slice / 4;
  const bool vec = shape_.in % 4 == 0;
  const uint64_t max_vecs = std::max<uint64_t>(uint64_t(shape_.n) * shape_.in, uint64_t(shape_.out) * shape_.in) / 4;
  texel_ = options.allow_texel && vec && t.texel_buffer_rgba32f && (!fixed_ || t.texel_fetch_exact) &&
           max_vecs <= t.max_texel_buffer_elements;
  KernelDesc d = kernel_for(device, mode, texel_ ? "dense_fixed+texel" : "dense_fixed",
                            texel_ ? "dense_free+texel" : "dense_free", 4, sizeof(Push), workgroup_,
                            {{kSpecFlagA, shape.bias ? 1u : 0u},
                             {kSpecFlagB, shape.relu ? 1u : 0u},
                             {kSpecRows, rows_},
                             {kSpecLanes, lanes_},
                             {kSpecVec, vec ? 1u : 0u},
                             {kSpecSliceVecs, slice_vecs_},
                             {kSpecLaneLevels, log2_of(plan.slices / lanes_)}},
                            /*full_subgroups=*/true);
  if (texel_) d.texel_bindings = 0b11;
  kernel_ = &device.kernel(d);
}

std::string Dense::describe() const {
  std::string d = "dense " + std::to_string(rows_) + " rows x " + std::to_string(lanes_) + " lanes";
  d += texel_ ? ", texel" : ", storage";
  if (fixed_) d += ", " + std::to_string(slice_vecs_) + " vec4s per slice";
  return d;
}

void Dense::record(Sequence& seq, const Buffer& x, const DenseWeights& weight, const Buffer& bias, const Buffer& y) const {
  const DenseShape& s = shape_;
  const ReductionPlan plan = plan_dense_reduction(s.in);
  const uint32_t groups_per_wg = workgroup_ / lanes_;
  for (size_t c = 0; c < weight.chunks.size(); ++c) {
    const uint32_t r0 = static_cast<uint32_t>(c) * weight.rows_per_chunk;
    const uint32_t rows = std::min(weight.rows_per_chunk, s.out - r0);
    const Push p{s.n, s.in, s.out, r0, rows, plan.slices, plan.per_slice};
    // Each group takes one (sample, block of rows) per pass; the shaders loop over the rest,
    // so the dispatch size never changes what an output is.
    const uint64_t items = uint64_t(s.n) * ((rows + rows_ - 1) / rows_);
    seq.dispatch(*kernel_, {{&x}, {&weight.chunks[c]}, {&bias}, {&y}}, p,
                 std::min<uint64_t>(groups_for(items, groups_per_wg), 65535), describe());
  }
}

}  // namespace lockstep::ops
