#version 450
// Convolution, free order, register-tiled (conv2d.glsl): one fma() chain per output over
// (ci, ky, kx), then bias and ReLU.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "conv2d.glsl"

vec4 ls_mac4(vec4 a, vec4 xv, vec4 wv) { return fma(xv, wv, a); }
float ls_finish(float v, uint co, float r) {
  if (HAS_BIAS) v += bias[co];
  if (RESIDUAL == 1u) v = v + r;
  if (RESIDUAL == 2u) v = r + v;
  return RELU ? max(v, 0.0) : v;
}

void main() {
  tile_setup();
  [[unroll]] for (uint i = 0u; i < NACC; ++i) acc[i] = vec4(0.0);
  accumulate_channels(0u, pc.c_in);
  store_tile();
}
