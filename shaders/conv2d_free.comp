#version 450
// Convolution, free order: one invocation per output, one running fma() chain over
// (ci, ky, kx); the compiler may contract and reorder as it likes.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 8) const bool HAS_BIAS = true;
layout(constant_id = 9) const bool RELU = false;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float wt[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
  uint n, c_in, h, w, c_out, kh, kw, stride_h, stride_w, pad_top, pad_left, out_h, out_w, slices, per_slice;
} pc;

void main() {
  uint idx = ls_global_index();
  if (idx >= pc.n * pc.c_out * pc.out_h * pc.out_w) return;
  uint ox = idx % pc.out_w;
  uint t = idx / pc.out_w;
  uint oy = t % pc.out_h;
  t /= pc.out_h;
  uint co = t % pc.c_out;
  uint n = t / pc.c_out;
  int iy0 = int(oy * pc.stride_h) - int(pc.pad_top);
  int ix0 = int(ox * pc.stride_w) - int(pc.pad_left);
  uint ky0 = uint(max(0, -iy0)), ky1 = uint(min(int(pc.kh), int(pc.h) - iy0));
  uint kx0 = uint(max(0, -ix0)), kx1 = uint(min(int(pc.kw), int(pc.w) - ix0));
  float acc = 0.0;
  for (uint ci = 0u; ci < pc.c_in; ++ci) {
    uint xplane = (n * pc.c_in + ci) * pc.h;
    uint wplane = (co * pc.c_in + ci) * pc.kh;
    for (uint ky = ky0; ky < ky1; ++ky) {
      uint xrow = (xplane + uint(iy0 + int(ky))) * pc.w + uint(ix0);
      uint wrow = (wplane + ky) * pc.kw;
      for (uint kx = kx0; kx < kx1; ++kx) acc = fma(x[xrow + kx], wt[wrow + kx], acc);
    }
  }
  if (HAS_BIAS) acc += bias[co];
  if (RELU) acc = max(acc, 0.0);
  y[idx] = acc;
}
