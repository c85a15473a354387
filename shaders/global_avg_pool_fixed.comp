#version 450
// Global average pool, fixed order: the canonical sum over h*w (split across a lane group
// as in dense_fixed.comp), times 1/(h*w) rounded once on the host.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#include "common.glsl"
#include "fixed_arith.glsl"
#include "fixed_reduce.glsl"
#include "fixed_tree_subgroup.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint planes, hw, slices, per_slice; float inv_hw; } pc;

void main() {
  uint group = min(pc.slices, gl_SubgroupSize);
  uint groups_per_subgroup = gl_SubgroupSize / group;
  uint groups_per_wg = gl_NumSubgroups * groups_per_subgroup;
  uint my_group = gl_SubgroupID * groups_per_subgroup + gl_SubgroupInvocationID / group;
  uint lane = gl_SubgroupInvocationID % group;
  uint lane_slices = pc.slices / group;
  for (uint base = ls_linear_group() * groups_per_wg; base < pc.planes; base += ls_group_count() * groups_per_wg) {
    uint p = base + my_group;
    bool valid = p < pc.planes;
    uint row = (valid ? p : pc.planes - 1u) * pc.hw;
    float stack[LS_MAX_LEVELS];
    for (uint j = 0u; j < lane_slices; ++j) {
      uint s = lane * lane_slices + j;
      uint k0 = min(pc.hw, s * pc.per_slice);
      uint k1 = min(pc.hw, k0 + pc.per_slice);
      float acc = 0.0;
      for (uint k = k0; k < k1; ++k) acc = ls_add(acc, x[row + k]);
      ls_tree_push(stack, j, acc);
    }
    float v = ls_tree_subgroup(stack[ls_log2(lane_slices)], group);
    if (valid && lane == 0u) y[p] = ls_mul(v, pc.inv_hw);
  }
}
