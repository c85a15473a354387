#include "ops/conv2d.hpp"

#include <algorithm>
#include <stdexcept>

#include "numerics/reduction_plan.hpp"

namespace lockstep::ops {

namespace {
struct Push {
  uint32_t n, c_in, h, w, c_out, stride_h, out_h, out_w, slices, per_slice, tiles, cblocks, x_vecs;
};

// Specialization constants of shaders/conv2d.glsl.
enum : uint32_t {
  kSpecKh = 10, kSpecKw, kSpecStrideW, kSpecMg, kSpecP, kSpecLevels, kSpecShare, kSpecFlat, kSpecAligned,
  kSpecWm4, kSpecPadTop, kSpecPadLeft, kSpecYvec, kSpecTilesPerBlock = 24, kSpecChannelUnroll, kSpecResidual
};

uint32_t pow2_floor(uint32_t v) {
  uint32_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}

uint64_t vecs_of(uint64_t floats) { return (floats + 3) / 4; }
}  // namespace

Conv2d::Conv2d(Device& device, const Conv2dShape& shape, const NumericMode& mode, const Options& options,
               Residual residual)
    : shape_(shape), residual_(residual) {
  shape_.validate();
  const Conv2dShape& s = shape_;
  const DeviceTraits& t = device.traits();
  if (options.tile_channels % 4 != 0) throw std::invalid_argument("conv2d: tile_channels must be a multiple of 4");
  if (options.share > 0 && (options.share & (options.share - 1)) != 0)
    throw std::invalid_argument("conv2d: share must be a power of two");
  const bool cpu = t.device_type == "cpu";

  // Tile shape. On CPU drivers every per-invocation load costs about as much as a dozen
  // vector multiply-adds, so big tiles pay off: 32 channels x 4 pixels (the multiply-adds run
  // one vec4 group of channels at a time, so the tile's size is not bounded by registers),
  // measured best on lavapipe for 3x3 and 1x1 alike (README "Benchmarking"). GPUs keep registers for
  // occupancy: 8 x 4.
  mg_ = cpu ? 8 : 2;
  p_ = 4;
  if (options.tile_channels) mg_ = options.tile_channels / 4;
  if (options.tile_pixels) p_ = options.tile_pixels;
  mg_ = std::max<uint32_t>(1, std::min(mg_, (s.c_out + 3) / 4));
  if (s.kh > 32 || s.kw > 32)
    throw std::invalid_argument("conv2d: kernels up to 32x32 are supported, not " + std::to_string(s.kh) + "x" +
                                std::to_string(s.kw));

  // Texel buffers: cheaper reads on CPU drivers (a sampler fetch is vectorised, a storage load
  // is a loop over the lanes) and the texture path on GPUs. Fixed order only where the probe
  // found them bit-exact; every view must fit maxTexelBufferElements.
  const uint64_t x_vecs = vecs_of(s.input_elements());
  const uint64_t w_vecs = vecs_of(uint64_t((s.c_out + 4 * mg_ - 1) / (4 * mg_)) * 4 * mg_ * s.c_in * s.kh * s.kw);
  const bool texel_ok = t.texel_buffer_rgba32f && (!mode.fixed() || t.texel_fetch_exact) &&
                        std::max(x_vecs, w_vecs) <= t.max_texel_buffer_elements;
  texel_ = options.reads == Options::Reads::Texel || (options.reads == Options::Reads::Auto && texel_ok);
  if (texel_ && !texel_ok)
    throw std::invalid_argument("conv2d: texel reads requested but " + t.name +
                                (mode.fixed() && !t.texel_fetch_exact ? " does not fetch texels bit-exactly"
                                                                      : " cannot hold these tensors in texel views"));

  const uint32_t oh = s.out_h(), ow = s.out_w();
  flat_ = options.allow_flat && s.stride_h == 1 && s.stride_w == 1 && ow == s.w;
  // Row tiles mark the valid columns of their segment ((P - 1) * stride + kw values) in 32 bits.
  if (!flat_ && (p_ - 1) * s.stride_w + s.kw > 32) {
    if (options.tile_pixels) throw std::invalid_argument("conv2d: tile_pixels too large for this stride and kernel");
    p_ = std::max<uint32_t>(1, (32 - s.kw) / s.stride_w + 1);
  }
  const uint64_t plane = uint64_t(s.h) * s.w, oplane = uint64_t(oh) * ow;
  aligned_ = plane % 4 == 0 && p_ % 4 == 0 && (flat_ || (s.w % 4 == 0 && (p_ * s.stride_w) % 4 == 0));
  yvec_ = oplane % 4 == 0 && p_ % 4 == 0 && (flat_ || ow % 4 == 0);
  // Texel stores: on lavapipe a storage-buffer store is a loop over lanes per float, which made
  // the epilogue of a 1x1 convolution over 64 channels cost more than its multiply-adds. Only
  // whole vec4s (yvec_), only in fixed order where the probe found them bit-exact.
  texel_store_ = options.allow_texel_store && texel_ && yvec_ && t.texel_store_rgba32f &&
                 (!mode.fixed() || t.texel_store_exact) && vecs_of(s.output_elements()) <= t.max_texel_buffer_elements;

  // Weight sharing across lanes where loads are expensive and full subgroups can be relied on.
  const uint32_t sg_min = std::max<uint32_t>(1, t.min_subgroup_size ? t.min_subgroup_size : t.subgroup_size);
  const uint32_t sg_max = std::max<uint32_t>(1, std::max(t.max_subgroup_size, t.subgroup_size));
  const bool can_share = t.subgroup_shuffle && t.compute_full_subgroups;
  share_ = (cpu && can_share) ? std::min<uint32_t>(8, pow2_floor(sg_min)) : 0;
  if (options.share >= 0) share_ = static_cast<uint32_t>(options.share);
  if (share_ == 1) share_ = 0;
  if (share_ && !can_share) throw std::invalid_argument("conv2d: weight sharing needs subgroup shuffles and full subgroups");
  // Workgroup: about 64 invocations, tw_ tiles (a multiple of the subgroup size) x wg_ / tw_
  // channel blocks: images with fewer than 64 tiles take several channel blocks rather than
  // leave most lanes idle.
  // tw_ is the multiple of the subgroup size that leaves the fewest dead tile slots in the
  // last workgroup of a row of groups (dead lanes cost as much as live ones on CPU drivers):
  // 196 tiles (28x28 in 4-pixel tiles) take 5 x 40 slots rather than 4 x 64 (77% live).
  // Ties go to the larger workgroup.
  const uint32_t tiles = tile_count();
  const uint32_t cap = std::max<uint32_t>(sg_max, std::min<uint32_t>(64, t.max_workgroup_invocations) / sg_max * sg_max);
  tw_ = sg_max;
  for (uint32_t tw = sg_max; tw <= std::min(cap, (tiles + sg_max - 1) / sg_max * sg_max); tw += sg_max)
    if (groups_for(tiles, tw) * tw <= groups_for(tiles, tw_) * tw_) tw_ = tw;
  const uint32_t cblocks = (s.c_out + 4 * mg_ - 1) / (4 * mg_);
  wg_ = tw_ * std::max<uint32_t>(1, std::min(cap / tw_, cblocks));

  const ReductionPlan plan = plan_conv_reduction(s.c_in, s.kh * s.kw);
  // Channels per loop iteration: 4 for kernels of few taps (each iteration moves every
  // accumulator on llvmpipe), where 4 divides every channel range the loop runs over.
  const uint32_t range = mode.fixed() ? plan.per_slice : s.c_in;
  cu_ = (s.kh * s.kw <= 3 && range % 4 == 0 && s.c_in % 4 == 0) ? 4 : 1;
  kernel_ = &device.kernel([&] {
    const std::string variant = texel_store_ ? "+texel+store" : texel_ ? "+texel" : "";
    KernelDesc d = kernel_for(device, mode, "conv2d_fixed" + variant, "conv2d_free" + variant, 5, sizeof(Push), wg_,
                              {{kSpecFlagA, s.bias ? 1u : 0u},
                               {kSpecFlagB, s.relu ? 1u : 0u},
                               {kSpecKh, s.kh},
                               {kSpecKw, s.kw},
                               {kSpecStrideW, s.stride_w},
                               {kSpecMg, mg_},
                               {kSpecP, p_},
                               {kSpecLevels, plan.levels()},
                               {kSpecShare, share_},
                               {kSpecFlat, flat_ ? 1u : 0u},
                               {kSpecAligned, aligned_ ? 1u : 0u},
                               {kSpecWm4, s.w % 4},
                               {kSpecPadTop, s.pad_top},
                               {kSpecPadLeft, s.pad_left},
                               {kSpecYvec, yvec_ ? 1u : 0u},
                               {kSpecTilesPerBlock, tw_},
                               {kSpecChannelUnroll, cu_},
                               {kSpecResidual, static_cast<uint32_t>(residual_)}},
                              /*full_subgroups=*/share_ > 0);
    if (texel_) d.texel_bindings = 0b10011;
    if (texel_store_) d.store_texel_bindings = 0b01000;
    return d;
  }());
}

std::vector<float> Conv2d::pack_weight(std::span<const float> oihw) const {
  const Conv2dShape& s = shape_;
  if (oihw.size() != s.weight_elements())
    throw std::invalid_argument("conv2d: weight has " + std::to_string(oihw.size()) + " elements, expected " +
                                std::to_string(s.weight_elements()));
  const uint64_t taps = uint64_t(s.c_in) * s.kh * s.kw;
  const uint32_t m = 4 * mg_;
  const uint32_t blocks = (s.c_out + m - 1) / m;
  std::vector<float> out(uint64_t(blocks) * m * taps, 0.0f);
  for (uint32_t co = 0; co < s.c_out; ++co)
    for (uint64_t k = 0; k < taps; ++k) out[((co / m) * taps + k) * m + co % m] = oihw[co * taps + k];
  return out;
}

uint32_t Conv2d::tile_count() const {
  const uint32_t oh = shape_.out_h(), ow = shape_.out_w();
  return flat_ ? (oh * ow + p_ - 1) / p_ : oh * ((ow + p_ - 1) / p_);
}

std::string Conv2d::describe() const {
  std::string d = "conv2d " + std::to_string(4 * mg_) + "co x " + std::to_string(p_) + "px";
  d += flat_ ? " flat" : " rows";
  d += aligned_ ? " aligned" : " unaligned";
  d += texel_ ? ", texel" : ", storage";
  if (share_) d += ", share " + std::to_string(share_);
  if (yvec_) d += texel_store_ ? ", vec4 texel stores" : ", vec4 stores";
  if (cu_ > 1) d += ", " + std::to_string(cu_) + " channels per step";
  if (residual_ != Residual::None) d += ", + residual";
  d += ", wg " + std::to_string(wg_) + " = " + std::to_string(tw_) + " tiles x " + std::to_string(wg_ / tw_);
  return d;
}

void Conv2d::record(Sequence& seq, const Buffer& x, const Buffer& weight, const Buffer& bias, const Buffer& y,
                    const Buffer& residual) const {
  const Conv2dShape& s = shape_;
  const ReductionPlan plan = plan_conv_reduction(s.c_in, s.kh * s.kw);
  const uint32_t oh = s.out_h(), ow = s.out_w();
  const uint32_t tiles = tile_count();
  const uint32_t cblocks = (s.c_out + 4 * mg_ - 1) / (4 * mg_);
  const Push p{s.n,    s.c_in,      s.h,           s.w,   s.c_out, s.stride_h,
               oh,     ow,          plan.slices,   plan.per_slice, tiles, cblocks,
               static_cast<uint32_t>(vecs_of(s.input_elements()))};
  const uint64_t groups = groups_for(tiles, tw_) * groups_for(cblocks, wg_ / tw_) * s.n;
  if (residual_ != Residual::None && residual.bytes() < s.output_elements() * 4)
    throw std::invalid_argument("conv2d: the residual holds " + std::to_string(residual.bytes()) +
                                " bytes, expected the output's " + std::to_string(s.output_elements() * 4));
  seq.dispatch(*kernel_, {{&x}, {&weight}, {&bias}, {&y}, {&residual}}, p, groups, describe());
}

}  // namespace lockstep::ops
