// The canonical tree across the lanes of a subgroup. Needs fixed_arith.glsl.
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

// Xor-butterfly over `group` consecutive lanes of the subgroup (a power of two no larger
// than the subgroup, at most 128, lanes aligned to it). Every lane adds lower + upper, so every
// lane of the group ends with the same tree as ls_tree_push. Shuffles are bit-preserving. The
// levels are unrolled with constant shuffle patterns (with a constant `group` the extra levels
// fold away): inside a loop, a loop over levels was a real loop with a per-lane shuffle on
// llvmpipe (VGG's fc1 in fixed order: 2.2x the time).
// Must be called in uniform control flow across the subgroup.
float ls_tree_subgroup(float v, uint group) {
  [[unroll]] for (uint l = 0u; l < 7u; ++l) {
    const uint off = 1u << l;
    if (off < group) {
      float other = subgroupShuffleXor(v, off);
      bool upper = (gl_SubgroupInvocationID & off) != 0u;
      v = upper ? ls_add(other, v) : ls_add(v, other);
    }
  }
  return v;
}
