#version 450
// Convolution, fixed order, register-tiled (conv2d.glsl). Every output's accumulator sees the
// canonical sequence of numerics/reduction_plan.hpp: per slice of input channels, +0.0 then
// ci, ky, kx ascending with ls_mac (taps in the padding read +0.0); the slices joined by the
// pairwise tree (lower + upper); then bias (ls_add) and ReLU. The vec4 arithmetic is
// component-wise: each component is exactly the scalar ls_mac / ls_add of fixed_arith.glsl
// (precise, flushed under LS_FTZ, fma() under LS_MAC_FMA).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "fixed_arith.glsl"
#include "conv2d.glsl"

vec4 ls_flush4(vec4 v) {
  if (!LS_FTZ) return v;
  uvec4 b = floatBitsToUint(v);
  return mix(v, uintBitsToFloat(b & 0x80000000u), equal(b & 0x7f800000u, uvec4(0u)));
}
vec4 ls_add4(vec4 a, vec4 b) {
  precise vec4 r = a + b;
  return ls_flush4(r);
}
vec4 ls_mac4(vec4 a, vec4 xv, vec4 wv) {
  if (LS_MAC_FMA) {
    precise vec4 f = fma(xv, wv, a);
    return ls_flush4(f);
  }
  precise vec4 p = xv * wv;
  vec4 pf = ls_flush4(p);
  precise vec4 r = a + pf;
  return ls_flush4(r);
}
float ls_finish(float v, uint co, float r) {
  if (HAS_BIAS) v = ls_add(v, bias[co]);
  if (RESIDUAL == 1u) v = ls_add(v, r);
  if (RESIDUAL == 2u) v = ls_add(r, v);
  return RELU ? ls_relu(v) : v;
}

// The tree: a binary counter over LEVELS levels, as ls_tree_push computes it, with static
// indices; the slice number is uniform, so each level is a branch that runs only when taken
// (measured: 1.06x free order instead of 1.12x with selects at every level).
const uint NL = LEVELS > 0u ? LEVELS : 1u;
vec4 stack[NL * NACC];

// Pushes acc as partial number `index`: acc = stack[l] + acc (lower + upper) for the levels
// below the number of trailing ones of index, then stores acc at that level. After partial
// 2^LEVELS - 1, acc holds the whole tree.
void push_partial(uint index) {
  uint ones = uint(findLSB(~index));
  [[unroll]] for (uint l = 0u; l < LEVELS; ++l) {
    if (l < ones) {
      [[unroll]] for (uint i = 0u; i < NACC; ++i) acc[i] = ls_add4(stack[l * NACC + i], acc[i]);
    }
  }
  [[unroll]] for (uint l = 0u; l < LEVELS; ++l) {
    if (l == ones) {
      [[unroll]] for (uint i = 0u; i < NACC; ++i) stack[l * NACC + i] = acc[i];
    }
  }
}

void main() {
  tile_setup();
  [[unroll]] for (uint i = 0u; i < NACC; ++i) acc[i] = vec4(0.0);
  if (LEVELS == 0u) {  // one slice: the plain sequence, as in free order
    accumulate_channels(0u, pc.c_in);
    store_tile();
    return;
  }
  [[unroll]] for (uint i = 0u; i < stack.length(); ++i) stack[i] = vec4(0.0);
  // Two loop levels (slices, channels of a slice): on llvmpipe every entry into an inner loop
  // costs about one iteration of it, which is why the conv plan makes slices long (>= 14
  // channels of a 3x3 wherever there are two slices or more, plan_conv_reduction). Slices past
  // c_in are empty: +0.0.
  for (uint s = 0u; s < pc.slices; ++s) {
    [[unroll]] for (uint i = 0u; i < NACC; ++i) acc[i] = vec4(0.0);
    accumulate_channels(min(pc.c_in, s * pc.per_slice), min(pc.c_in, (s + 1u) * pc.per_slice));
    push_partial(s);
  }
  store_tile();  // acc: the whole tree (from the push of the last slice)
}
