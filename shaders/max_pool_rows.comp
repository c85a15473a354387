#version 450
// Max pooling, P consecutive outputs of one output row per invocation, for windows of up to
// 8x8 (the pools of VGG and ResNet): each window row is read once as a segment of RS input
// values, vec4s from an RGBA32F texel buffer (LS_TEXEL) or a vec4 storage buffer, the start
// offset within a vec4 picked per invocation. The same order as pool2d.comp for every output:
// m = the first valid tap, then m = v > m ? v : m, taps in (ky, kx) order (exact in both
// orders, NaN and -0 included).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(constant_id = 10) const uint KH = 2u;
layout(constant_id = 11) const uint KW = 2u;
layout(constant_id = 12) const uint SW = 2u;
layout(constant_id = 13) const uint P = 4u;

#if LS_TEXEL
layout(binding = 0) uniform samplerBuffer x_texels;
vec4 x_vec(int i) { return texelFetch(x_texels, i); }
#else
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
vec4 x_vec(int i) { return x4[i]; }
#endif
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
  uint planes, h, w, stride_h, pad_top, pad_left, out_h, out_w, x_vecs;
} pc;

const uint RS = (P - 1u) * SW + KW;
const uint NXV = (RS + 6u) / 4u;

void main() {
  uint tiles_x = (pc.out_w + P - 1u) / P;
  uint t = ls_global_index();
  if (t >= pc.planes * pc.out_h * tiles_x) return;
  uint ox0 = (t % tiles_x) * P;
  uint oy = (t / tiles_x) % pc.out_h;
  uint plane = t / (tiles_x * pc.out_h);
  int ix0 = int(ox0 * SW) - int(pc.pad_left);
  uint cols = 0u;
  [[unroll]] for (uint j = 0u; j < RS; ++j)
    if (ix0 + int(j) >= 0 && ix0 + int(j) < int(pc.w)) cols |= 1u << j;
  float m[P];
  bool seen[P];
  [[unroll]] for (uint p = 0u; p < P; ++p) m[p] = 0.0, seen[p] = false;
  int vmax = int(pc.x_vecs) - 1;
  [[unroll]] for (uint ky = 0u; ky < KH; ++ky) {
    int iy = int(oy * pc.stride_h + ky) - int(pc.pad_top);
    bool row = iy >= 0 && iy < int(pc.h);
    int start = int(plane * pc.h * pc.w) + clamp(iy, 0, int(pc.h) - 1) * int(pc.w) + ix0;
    int v0 = start >> 2;
    uint s = uint(start) & 3u;
    vec4 xq[NXV];
    [[unroll]] for (uint k = 0u; k < NXV; ++k) xq[k] = x_vec(clamp(v0 + int(k), 0, vmax));
    [[unroll]] for (uint p = 0u; p < P; ++p) {
      [[unroll]] for (uint kx = 0u; kx < KW; ++kx) {
        uint j = p * SW + kx;
        uint c = (s + j) & 3u;
        vec4 q = s + (j & 3u) >= 4u ? xq[min((j >> 2) + 1u, NXV - 1u)] : xq[j >> 2];
        float v = c == 0u ? q.x : (c == 1u ? q.y : (c == 2u ? q.z : q.w));
        bool ok = row && ((cols >> j) & 1u) != 0u;
        m[p] = ok && (!seen[p] || v > m[p]) ? v : m[p];
        seen[p] = seen[p] || ok;
      }
    }
  }
  uint obase = (plane * pc.out_h + oy) * pc.out_w + ox0;
  [[unroll]] for (uint p = 0u; p < P; ++p)
    if (ox0 + p < pc.out_w) y[obase + p] = m[p];
}
