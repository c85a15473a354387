#version 450
// Convolution, fixed order, register-tiled (conv2d_tiled.glsl). Every output's accumulator sees
// the canonical sequence of numerics/reduction_plan.hpp: per slice of input channels, +0.0 then
// ci, ky, kx ascending with ls_mac (taps in the padding skipped); the slices joined by the
// pairwise tree (lower + upper); then bias (ls_add) and ReLU. The vec4 arithmetic is
// component-wise: each component is exactly the scalar ls_mac / ls_add of fixed_arith.glsl
// (precise, flushed under LS_FTZ, fma() under LS_MAC_FMA).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "fixed_arith.glsl"
#include "conv2d_tiled.glsl"

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

// The tree, as ls_tree_push computes it, with static indices: slices are taken in blocks of
// U = 2^UB; a binary counter of UB levels joins the slices of a block, a second one of UL levels
// joins the blocks (the upper levels are touched once per block only).
const uint UB = LEVELS < 2u ? LEVELS : 2u;
const uint UL = LEVELS - UB;
vec4 lo[(UB > 0u ? UB : 1u) * NACC];
vec4 hi[(UL > 0u ? UL : 1u) * NACC];
vec4 res[NACC];

// Pushes v as partial number `index`: merges the levels below the number of trailing ones of
// index (stack + v: lower + upper) and stores at that level.
#define LS_PUSH(stack, levels, index, i, v)           \
  {                                                   \
    uint ones_ = uint(findLSB(~(index)));             \
    [[unroll]] for (uint l = 0u; l < (levels); ++l) { \
      vec4 sl = stack[l * NACC + (i)];                \
      v = l < ones_ ? ls_add4(sl, v) : v;             \
      stack[l * NACC + (i)] = l == ones_ ? v : sl;    \
    }                                                 \
  }

void main() {
  tile_setup();
  [[unroll]] for (uint i = 0u; i < lo.length(); ++i) lo[i] = vec4(0.0);
  [[unroll]] for (uint i = 0u; i < hi.length(); ++i) hi[i] = vec4(0.0);
  uint blocks = pc.slices >> UB;
  for (uint b = 0u; b < blocks; ++b) {
    [[dont_unroll]] for (uint u = 0u; u < (1u << UB); ++u) {
      uint s = (b << UB) + u;
      [[unroll]] for (uint i = 0u; i < NACC; ++i) acc[i] = vec4(0.0);
      uint c0 = min(pc.c_in, s * pc.per_slice);
      uint c1 = min(pc.c_in, c0 + pc.per_slice);
      accumulate_rows(c0 * KH, c1 * KH);
      [[unroll]] for (uint i = 0u; i < NACC; ++i) {
        vec4 v = acc[i];
        LS_PUSH(lo, UB, u, i, v)
        res[i] = v;  // after the block's last slice: the block's tree
      }
    }
    [[unroll]] for (uint i = 0u; i < NACC; ++i) {
      vec4 v = res[i];
      LS_PUSH(hi, UL, b, i, v)
      res[i] = v;  // after the last block: the whole tree
    }
  }
  [[unroll]] for (uint g = 0u; g < TC; ++g) {
    [[unroll]] for (uint c = 0u; c < 4u; ++c) {
      [[unroll]] for (uint p = 0u; p < TP; ++p) {
        uint co, o;
        if (!output_index(g, c, p, co, o)) continue;
        float v = res[g * TP + p][c];
        if (HAS_BIAS) v = ls_add(v, bias[co]);
        if (RELU) v = ls_relu(v);
        y[o] = v;
      }
    }
  }
}
