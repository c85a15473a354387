#version 450
// Max and average pooling, one invocation per output. Used by both orders: a window is
// short and this is already the canonical order, so free order has nothing to gain.
// Max: m = first valid tap, then m = v > m ? v : m in (ky, kx) order.
// Average: window taps in canonical slices (padding skipped), tree-joined, then multiplied
// by recip[count], reciprocals rounded once on the host.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "fixed_arith.glsl"
#include "fixed_reduce.glsl"

layout(constant_id = 8) const bool IS_MAX = true;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer R { float recip[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
  uint planes, h, w, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w, slices, per_slice, include_pad;
} pc;

void main() {
  uint idx = ls_global_index();
  if (idx >= pc.planes * pc.out_h * pc.out_w) return;
  uint ox = idx % pc.out_w;
  uint t = idx / pc.out_w;
  uint oy = t % pc.out_h;
  uint plane = t / pc.out_h;
  int iy0 = int(oy * pc.stride_h) - int(pc.pad_top);
  int ix0 = int(ox * pc.stride_w) - int(pc.pad_left);
  uint taps = pc.kh * pc.kw;
  if (IS_MAX) {
    bool first = true;
    float m = 0.0;
    for (uint tap = 0u; tap < taps; ++tap) {
      int iy = iy0 + int(tap / pc.kw), ix = ix0 + int(tap % pc.kw);
      if (iy < 0 || iy >= int(pc.h) || ix < 0 || ix >= int(pc.w)) continue;
      float v = x[(plane * pc.h + uint(iy)) * pc.w + uint(ix)];
      if (first || v > m) m = v;
      first = false;
    }
    y[idx] = m;
    return;
  }
  float stack[LS_MAX_LEVELS];
  uint valid = 0u;
  for (uint s = 0u; s < pc.slices; ++s) {
    uint t0 = min(taps, s * pc.per_slice);
    uint t1 = min(taps, t0 + pc.per_slice);
    float acc = 0.0;
    for (uint tap = t0; tap < t1; ++tap) {
      int iy = iy0 + int(tap / pc.kw), ix = ix0 + int(tap % pc.kw);
      if (iy < 0 || iy >= int(pc.h) || ix < 0 || ix >= int(pc.w)) continue;
      acc = ls_add(acc, x[(plane * pc.h + uint(iy)) * pc.w + uint(ix)]);
      valid++;
    }
    ls_tree_push(stack, s, acc);
  }
  float sum = stack[ls_log2(pc.slices)];
  y[idx] = ls_mul(sum, recip[pc.include_pad != 0u ? taps : valid]);
}
