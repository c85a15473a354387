#include "ops/pool2d.hpp"

#include <vector>

#include "numerics/fixed_arith.hpp"
#include "numerics/reduction_plan.hpp"

namespace lockstep::ops {

namespace {
struct Push {
  uint32_t planes, h, w, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w, slices, per_slice, include_pad;
};
struct RowsPush {
  uint32_t planes, h, w, stride_h, pad_top, pad_left, out_h, out_w, x_vecs;
};
}  // namespace

Pool2d::Pool2d(Device& device, const Pool2dShape& shape, const NumericMode& mode, bool allow_rows) : shape_(shape) {
  shape_.validate();
  const uint32_t is_max = shape.kind == PoolKind::Max ? 1u : 0u;
  const DeviceTraits& t = device.traits();
  const uint64_t x_vecs = (shape.input_elements() + 3) / 4;
  if (allow_rows && is_max && shape.kh <= 8 && shape.kw <= 8 && (4 - 1) * shape.stride_w + shape.kw <= 32) {
    rows_p_ = 4;
    // Max pooling only moves values: texel reads need the probe's bit-exactness in both orders.
    const bool texel = t.texel_fetch_exact && x_vecs <= t.max_texel_buffer_elements;
    KernelDesc d{texel ? "max_pool_rows+texel" : "max_pool_rows", 2, sizeof(RowsPush), kElementWorkgroup,
                 {{10, shape.kh}, {11, shape.kw}, {12, shape.stride_w}, {13, rows_p_}}};
    if (texel) d.texel_bindings = 0b1;
    kernel_ = &device.kernel(d);
    (void)mode;
    return;
  }
  kernel_ = &device.kernel(kernel_for(device, mode, "pool2d", "pool2d", 3, sizeof(Push), kElementWorkgroup,
                                      {{kSpecFlagA, is_max}}));
  std::vector<float> recip(shape.kh * shape.kw + 1, 0.0f);
  for (uint32_t i = 1; i < recip.size(); ++i) recip[i] = host_reciprocal(i);
  reciprocals_ = device.upload_new<float>(recip);
}

void Pool2d::record(Sequence& seq, const Buffer& x, const Buffer& y) const {
  const Pool2dShape& s = shape_;
  if (rows_p_) {
    const RowsPush p{s.n * s.c, s.h, s.w, s.stride_h, s.pad_top, s.pad_left, s.out_h(), s.out_w(),
                     static_cast<uint32_t>((s.input_elements() + 3) / 4)};
    const uint64_t tiles = uint64_t(s.n) * s.c * s.out_h() * ((s.out_w() + rows_p_ - 1) / rows_p_);
    seq.dispatch(*kernel_, {{&x}, {&y}}, p, groups_for(tiles, kElementWorkgroup), "max_pool rows");
    return;
  }
  const ReductionPlan plan = plan_reduction(s.kh * s.kw, 1);
  const Push p{s.n * s.c,  s.h,       s.w,         s.kh,          s.kw,
               s.stride_h, s.stride_w, s.pad_top, s.pad_left, s.out_h(),
               s.out_w(),  plan.slices, plan.per_slice, s.count_include_pad ? 1u : 0u};
  seq.dispatch(*kernel_, {{&x}, {&reciprocals_}, {&y}}, p, groups_for(s.output_elements(), kElementWorkgroup),
               s.kind == PoolKind::Max ? "max_pool" : "average_pool");
}

}  // namespace lockstep::ops
