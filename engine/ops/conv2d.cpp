#include "ops/conv2d.hpp"

#include <algorithm>
#include <stdexcept>

#include "numerics/reduction_plan.hpp"

namespace lockstep::ops {

namespace {
struct Push {
  uint32_t n, c_in, h, w, c_out, stride_h, pad_top, pad_left, out_h, out_w, slices, per_slice, tiles_x, co_groups;
};

// Specialization constants of shaders/conv2d_tiled.glsl.
enum : uint32_t {
  kSpecKh = 10, kSpecKw, kSpecStrideW, kSpecTc, kSpecTp, kSpecLevels, kSpecShare, kSpecXvec, kSpecXr, kSpecTw, kSpecPacked
};

// The image as the shader walks it: a 1x1, stride-1, unpadded convolution is one long row.
struct View {
  uint32_t h, w, out_h, out_w;
};
View view_of(const Conv2dShape& s, bool flat) {
  if (flat) return {1, s.h * s.w, 1, s.h * s.w};
  return {s.h, s.w, s.out_h(), s.out_w()};
}

uint32_t pow2_floor(uint32_t v) {
  uint32_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}
}  // namespace

Conv2d::Conv2d(Device& device, const Conv2dShape& shape, const NumericMode& mode, const Options& options)
    : shape_(shape), options_(options) {
  shape_.validate();
  if (options.tile_channels % 4 != 0) throw std::invalid_argument("conv2d: tile_channels must be a multiple of 4");
  const Conv2dShape& s = shape_;
  const DeviceTraits& t = device.traits();
  const bool cpu = t.device_type == "cpu";
  const uint32_t sg = std::max<uint32_t>(1, std::max(t.max_subgroup_size, t.subgroup_size));

  // Tile shape. On CPU drivers each per-invocation load is a loop over the SIMD lanes, so big
  // tiles pay off (an input value feeds 4*TC channels, a weight TP pixels); a 1x1 kernel reuses an
  // input value over fewer taps, so it takes more channels — in free order: the fixed-order tree
  // code grows with the tile and with it the pipeline's compile time. One reduction row's code
  // grows with KW*TC*TP and must stay within the instruction cache. GPUs keep tiles small
  // (registers: the fixed-order tree holds several partials per accumulator).
  const bool one_by_one = s.kh * s.kw == 1;
  tc_ = cpu ? (one_by_one && !mode.fixed() ? 8 : 4) : 1;
  tp_ = cpu ? 8 : 4;
  if (options.tile_channels) tc_ = options.tile_channels / 4;
  tc_ = std::max<uint32_t>(1, std::min(tc_, (s.c_out + 3) / 4));

  flat_ = one_by_one && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 && s.pad_left == 0 &&
          s.pad_bottom == 0 && s.pad_right == 0;
  const View v = view_of(s, flat_);

  // Weight sharing across lanes where loads are expensive and subgroups can be relied on.
  const uint32_t sg_min = std::max<uint32_t>(1, t.min_subgroup_size ? t.min_subgroup_size : t.subgroup_size);
  share_ = (cpu && t.subgroup_shuffle && t.compute_full_subgroups) ? std::min<uint32_t>(16, pow2_floor(sg_min)) : 0;
  if (share_ < 2) share_ = 0;

  // Workgroup: tw_ tiles x cw channel groups. With sharing a subgroup must lie in one channel
  // group (tw_ a multiple of the subgroup size); neighbouring channel groups then reuse the same
  // input rows from cache. Without sharing the whole workgroup takes one channel group, so that
  // every weight load is uniform across it. Small images take narrower tiles rather than leave
  // most lanes of a workgroup idle.
  const uint32_t max_wg = std::max<uint32_t>(sg, std::min<uint32_t>(256, t.max_workgroup_invocations));
  auto tiles_for = [&](uint32_t tp) { return v.out_h * ((v.out_w + tp - 1) / tp); };
  auto tw_for = [&](uint32_t tp) {
    const uint32_t fill = (tiles_for(tp) + sg - 1) / sg * sg;
    return std::min(share_ ? std::min(std::max<uint32_t>(16, sg), fill) : std::min<uint32_t>(64, fill), max_wg / sg * sg);
  };
  auto efficiency = [&](uint32_t tp) {
    const uint64_t tw = tw_for(tp), lanes = (tiles_for(tp) + tw - 1) / tw * tw;
    return double(v.out_h) * v.out_w / double(lanes * tp);
  };
  if (options.tile_pixels) {
    tp_ = options.tile_pixels;
  } else if (cpu && efficiency(4) > 1.2 * efficiency(8)) {
    tp_ = 4;
  }
  tw_ = std::max(sg, tw_for(tp_));
  const uint32_t co_groups = (s.c_out + 4 * tc_ - 1) / (4 * tc_);
  wg_ = share_ ? std::min(tw_ * std::min<uint32_t>(4, co_groups), max_wg / tw_ * tw_) : tw_;
  xvec_ = (v.w % 4 == 0 && (tp_ * s.stride_w) % 4 == 0) ? 4 : 1;

  const ReductionPlan plan = plan_reduction(s.c_in, s.kh * s.kw);
  kernel_ = &device.kernel(kernel_for(device, mode, "conv2d_tiled_fixed", "conv2d_tiled_free", 4, sizeof(Push), wg_,
                                      {{kSpecFlagA, s.bias ? 1u : 0u},
                                       {kSpecFlagB, s.relu ? 1u : 0u},
                                       {kSpecKh, s.kh},
                                       {kSpecKw, s.kw},
                                       {kSpecStrideW, s.stride_w},
                                       {kSpecTc, tc_},
                                       {kSpecTp, tp_},
                                       {kSpecLevels, plan.levels()},
                                       {kSpecShare, share_},
                                       {kSpecXvec, xvec_},
                                       {kSpecXr, xvec_ == 4 ? (4 - s.pad_left % 4) % 4 : 0},
                                       {kSpecTw, tw_},
                                       {kSpecPacked, options.weights == WeightLayout::Packed ? 1u : 0u}},
                                      /*full_subgroups=*/share_ > 0));
}

std::vector<float> Conv2d::pack_weight(std::span<const float> oihw) const {
  const Conv2dShape& s = shape_;
  if (oihw.size() != s.weight_elements())
    throw std::invalid_argument("conv2d: weight has " + std::to_string(oihw.size()) + " elements, expected " +
                                std::to_string(s.weight_elements()));
  if (options_.weights == WeightLayout::Oihw) return {oihw.begin(), oihw.end()};
  const uint64_t taps = uint64_t(s.c_in) * s.kh * s.kw;
  const uint32_t cot = 4 * tc_;
  const uint32_t groups = (s.c_out + cot - 1) / cot;
  std::vector<float> out(uint64_t(groups) * cot * taps, 0.0f);
  for (uint32_t co = 0; co < s.c_out; ++co)
    for (uint64_t k = 0; k < taps; ++k) out[((co / cot) * taps + k) * cot + co % cot] = oihw[co * taps + k];
  return out;
}

std::string Conv2d::describe() const {
  std::string d = "conv2d " + std::to_string(4 * tc_) + "co x " + std::to_string(tp_) + "px, wg " +
                  std::to_string(wg_) + " = " + std::to_string(tw_) + " tiles x " + std::to_string(wg_ / tw_);
  if (share_) d += ", share " + std::to_string(share_);
  if (xvec_ == 4) d += ", vec4 rows";
  if (flat_) d += ", flat";
  if (options_.weights == WeightLayout::Packed) d += ", packed";
  return d;
}

void Conv2d::record(Sequence& seq, const Buffer& x, const Buffer& weight, const Buffer& bias, const Buffer& y) const {
  const Conv2dShape& s = shape_;
  const ReductionPlan plan = plan_reduction(s.c_in, s.kh * s.kw);
  const View v = view_of(s, flat_);
  const uint32_t tiles_x = (v.out_w + tp_ - 1) / tp_;
  const uint32_t co_groups = (s.c_out + 4 * tc_ - 1) / (4 * tc_);
  const Push p{s.n,      s.c_in,  v.h,         v.w,            s.c_out, s.stride_h, s.pad_top,
               s.pad_left, v.out_h, v.out_w, plan.slices, plan.per_slice, tiles_x,  co_groups};
  const uint32_t cw = wg_ / tw_;
  const uint64_t groups = groups_for(uint64_t(v.out_h) * tiles_x, tw_) * groups_for(co_groups, cw) * s.n;
  seq.dispatch(*kernel_, {{&x}, {&weight}, {&bias}, {&y}}, p, groups, describe());
}

}  // namespace lockstep::ops
