#version 450
// Convolution, free order, register-tiled (conv2d_tiled.glsl): one fma() chain per output over
// (ci, ky, kx), then bias and ReLU.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "conv2d_tiled.glsl"

vec4 ls_mac4(vec4 a, vec4 xv, vec4 wv) { return fma(xv, wv, a); }

void main() {
  tile_setup();
  [[unroll]] for (uint i = 0u; i < NACC; ++i) acc[i] = vec4(0.0);
  accumulate_rows(0u, pc.c_in * KH);
  [[unroll]] for (uint g = 0u; g < TC; ++g) {
    [[unroll]] for (uint c = 0u; c < 4u; ++c) {
      [[unroll]] for (uint p = 0u; p < TP; ++p) {
        uint co, o;
        if (!output_index(g, c, p, co, o)) continue;
        float v = acc[g * TP + p][c];
        if (HAS_BIAS) v += bias[co];
        if (RELU) v = max(v, 0.0);
        y[o] = v;
      }
    }
  }
}
