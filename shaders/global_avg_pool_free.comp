#version 450
// Global average pool, free order: one subgroup per plane, subgroupAdd.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint planes, hw, slices, per_slice; float inv_hw; } pc;

void main() {
  for (uint base = ls_linear_group() * gl_NumSubgroups; base < pc.planes; base += ls_group_count() * gl_NumSubgroups) {
    uint p = base + gl_SubgroupID;
    bool valid = p < pc.planes;
    uint row = (valid ? p : pc.planes - 1u) * pc.hw;
    float acc = 0.0;
    for (uint k = gl_SubgroupInvocationID; k < pc.hw; k += gl_SubgroupSize) acc += x[row + k];
    float v = subgroupAdd(acc);
    if (valid && subgroupElect()) y[p] = v * pc.inv_hw;
  }
}
