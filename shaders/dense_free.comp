#version 450
// Dense, free order: one subgroup per output, lanes stride over K with fma(), then
// subgroupAdd — its order is the implementation's, so results depend on the subgroup size.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"

layout(constant_id = 8) const bool HAS_BIAS = true;
layout(constant_id = 9) const bool RELU = false;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float wt[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint n, in_features, out_features, row_begin, rows, slices, per_slice; } pc;

void main() {
  uint total = pc.n * pc.rows;
  for (uint base = ls_linear_group() * gl_NumSubgroups; base < total; base += ls_group_count() * gl_NumSubgroups) {
    uint o = base + gl_SubgroupID;
    bool valid = o < total;
    uint oc = valid ? o : total - 1u;
    uint n = oc / pc.rows, r = oc % pc.rows;
    uint xrow = n * pc.in_features, wrow = r * pc.in_features;
    float acc = 0.0;
    for (uint k = gl_SubgroupInvocationID; k < pc.in_features; k += gl_SubgroupSize)
      acc = fma(x[xrow + k], wt[wrow + k], acc);
    float v = subgroupAdd(acc);
    if (valid && subgroupElect()) {
      uint row = pc.row_begin + r;
      if (HAS_BIAS) v += bias[row];
      if (RELU) v = max(v, 0.0);
      y[n * pc.out_features + row] = v;
    }
  }
}
