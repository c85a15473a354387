#version 450
// Dense, fixed order, split-K: the canonical slices of one output are spread over a group
// of G = min(S, subgroup size) lanes (S/G consecutive slices each, tree-joined in the lane),
// then joined across the group by the xor-butterfly. The result does not depend on the
// subgroup size or the workgroup size. The weight may be one chunk of rows of a larger
// matrix (row_begin, rows), for weights beyond a binding's range.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#include "common.glsl"
#include "fixed_arith.glsl"
#include "fixed_reduce.glsl"
#include "fixed_tree_subgroup.glsl"

layout(constant_id = 8) const bool HAS_BIAS = true;
layout(constant_id = 9) const bool RELU = false;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float wt[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint n, in_features, out_features, row_begin, rows, slices, per_slice; } pc;

void main() {
  uint group = min(pc.slices, gl_SubgroupSize);
  uint groups_per_subgroup = gl_SubgroupSize / group;
  uint groups_per_wg = gl_NumSubgroups * groups_per_subgroup;
  uint my_group = gl_SubgroupID * groups_per_subgroup + gl_SubgroupInvocationID / group;
  uint lane = gl_SubgroupInvocationID % group;
  uint lane_slices = pc.slices / group;
  uint total = pc.n * pc.rows;
  for (uint base = ls_linear_group() * groups_per_wg; base < total; base += ls_group_count() * groups_per_wg) {
    uint o = base + my_group;
    bool valid = o < total;
    uint oc = valid ? o : total - 1u;
    uint n = oc / pc.rows, r = oc % pc.rows;
    uint xrow = n * pc.in_features, wrow = r * pc.in_features;
    float stack[LS_MAX_LEVELS];
    for (uint j = 0u; j < lane_slices; ++j) {
      uint s = lane * lane_slices + j;
      uint k0 = min(pc.in_features, s * pc.per_slice);
      uint k1 = min(pc.in_features, k0 + pc.per_slice);
      float acc = 0.0;
      for (uint k = k0; k < k1; ++k) acc = ls_mac(acc, x[xrow + k], wt[wrow + k]);
      ls_tree_push(stack, j, acc);
    }
    float v = ls_tree_subgroup(stack[ls_log2(lane_slices)], group);
    if (valid && lane == 0u) {
      uint row = pc.row_begin + r;
      if (HAS_BIAS) v = ls_add(v, bias[row]);
      if (RELU) v = ls_relu(v);
      y[n * pc.out_features + row] = v;
    }
  }
}
