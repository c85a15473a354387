#version 450
// Inverted dropout from a counter-based mask: element i of layer L is kept iff
// philox(counter = (i_lo, i_hi, L, 0), key = seed).x >= threshold; kept values are scaled by
// 1/(1-p) (rounded once on the host). Identity when not training.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "fixed_arith.glsl"
#include "philox.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint count, threshold, seed_lo, seed_hi, layer, training; float scale; } pc;

void main() {
  uint i = ls_global_index();
  if (i >= pc.count) return;
  if (pc.training == 0u) {
    y[i] = x[i];
    return;
  }
  uvec4 r = ls_philox4x32_10(uvec4(i, 0u, pc.layer, 0u), uvec2(pc.seed_lo, pc.seed_hi));
  y[i] = r.x >= pc.threshold ? ls_mul(x[i], pc.scale) : 0.0;
}
