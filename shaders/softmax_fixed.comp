#version 450
// Softmax, fixed order: one invocation per row. Running max, software exp of x - max, the
// canonical sum (slices joined by the tree in-thread), software reciprocal and a corrected
// quotient (ls_divide).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "fixed_arith.glsl"
#include "fixed_reduce.glsl"
#include "soft_math.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform Push { uint rows, cols, slices, per_slice; } pc;

void main() {
  uint r = ls_global_index();
  if (r >= pc.rows) return;
  uint base = r * pc.cols;
  float m = x[base];
  for (uint j = 1u; j < pc.cols; ++j) m = x[base + j] > m ? x[base + j] : m;
  for (uint j = 0u; j < pc.cols; ++j) y[base + j] = ls_exp(ls_sub(x[base + j], m));
  float stack[LS_MAX_LEVELS];
  for (uint s = 0u; s < pc.slices; ++s) {
    uint j0 = min(pc.cols, s * pc.per_slice);
    uint j1 = min(pc.cols, j0 + pc.per_slice);
    float acc = 0.0;
    for (uint j = j0; j < j1; ++j) acc = ls_add(acc, y[base + j]);
    ls_tree_push(stack, s, acc);
  }
  float sum = stack[ls_log2(pc.slices)];
  float inv = ls_reciprocal(sum);
  for (uint j = 0u; j < pc.cols; ++j) y[base + j] = ls_divide(y[base + j], sum, inv);
}
