#version 450
// Softmax, free order: one subgroup per row; subgroupMax, exp(), subgroupAdd, division.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform Push { uint rows, cols, slices, per_slice; } pc;

void main() {
  for (uint b = ls_linear_group() * gl_NumSubgroups; b < pc.rows; b += ls_group_count() * gl_NumSubgroups) {
    uint r = b + gl_SubgroupID;
    bool valid = r < pc.rows;
    uint base = (valid ? r : pc.rows - 1u) * pc.cols;
    float m = uintBitsToFloat(0xff800000u);
    for (uint j = gl_SubgroupInvocationID; j < pc.cols; j += gl_SubgroupSize) m = max(m, x[base + j]);
    m = subgroupMax(m);
    float sum = 0.0;
    for (uint j = gl_SubgroupInvocationID; j < pc.cols; j += gl_SubgroupSize) sum += exp(x[base + j] - m);
    sum = subgroupAdd(sum);
    if (valid)
      for (uint j = gl_SubgroupInvocationID; j < pc.cols; j += gl_SubgroupSize) y[base + j] = exp(x[base + j] - m) / sum;
  }
}
