// The canonical reduction order: the one place that defines how every fixed-order sum is split.
//
// A reduction runs over `units` units of `unit_len` elements each, in ascending unit order
// (a convolution's units are input channels, each holding kh*kw taps in (ky, kx) order; a dense
// layer's units are single input features; a pool's units are single window positions).
// The units are split into S contiguous slices, S a power of two chosen from the shape alone:
//
//   per_slice0 = max(1, kTargetSliceElements / unit_len)
//   S          = min(kMaxSlices, next_pow2(max(ceil(units / per_slice0), min(units, kMinSlices))))
//   per_slice  = ceil(units / S)
//   slice s    = units [s * per_slice, min(units, (s + 1) * per_slice))
//
// Each slice is summed sequentially in ascending order starting from +0.0 (an empty slice is
// +0.0). The S partial sums are combined by a pairwise tree: level by level, partial i (lower)
// and partial i + off (upper) become `lower + upper`, off = 1, 2, 4, ... — exactly what an
// xor-butterfly over lanes computes at lane 0 when every lane adds `lower + upper`.
// Bias, if any, is added once to the tree's result; then the activation.
//
// Why blocked: one long sequential sum has an error growing with its length; short sequential
// slices joined by a tree keep fixed order as accurate as (or better than) free order.
// Why at least kMinSlices: a short reduction (K = 45) in two slices of 23 was measured 2x less
// accurate than free order's 8-lane subgroup sum; eight slices bring it level.
#pragma once
#include <cstdint>

namespace lockstep {

inline constexpr uint32_t kTargetSliceElements = 32;
// Convolutions take longer slices (see plan_conv_reduction).
inline constexpr uint32_t kConvTargetSliceElements = 512;
inline constexpr uint32_t kMinSlices = 8;
inline constexpr uint32_t kMaxSlices = 1024;

struct ReductionPlan {
  uint32_t units = 0;
  uint32_t unit_len = 1;
  uint32_t slices = 1;     // S, a power of two
  uint32_t per_slice = 0;  // units per slice

  uint32_t slice_begin(uint32_t s) const;
  uint32_t slice_end(uint32_t s) const;
  uint32_t levels() const;  // log2(S)
};

uint32_t next_pow2(uint32_t v);
ReductionPlan plan_reduction(uint32_t units, uint32_t unit_len = 1, uint32_t target_elements = kTargetSliceElements,
                             uint32_t min_slices = kMinSlices);
// A convolution's plan: units = input channels of kh*kw taps, kConvTargetSliceElements per
// slice and no minimum slice count:
//   per_slice0 = max(1, 512 / (kh*kw)),  S = min(1024, next_pow2(ceil(c_in / per_slice0)))
// Why: a convolution invocation holds dozens of accumulators, and every slice boundary pushes
// all of them into the tree; at 32 elements (two channels of a 3x3) the pushes cost as much as
// the multiply-adds on CPU drivers; at 256 (16 channels of a 3x3) VGG19's convolutions still
// ran 1.2-1.3x free order at subgroup 16, at 512 (32 channels) 1.0-1.05x (bench, interleaved).
// Why no minimum: free-order convolutions are one sequential chain of c_in*kh*kw products on
// every device here, so short reductions in one slice are as accurate as free order, and longer
// ones (sums of at most ~512 products joined by a tree) more.
ReductionPlan plan_conv_reduction(uint32_t c_in, uint32_t taps);
// A dense layer's plan: plan_reduction(in) with per_slice rounded up to a multiple of 4, so that
// slices begin on vec4 boundaries (the device reads rows as vec4s); trailing slices may then be
// empty.
ReductionPlan plan_dense_reduction(uint32_t in_features);

}  // namespace lockstep
