// The canonical tree across the lanes of a subgroup. Needs fixed_arith.glsl.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

// Xor-butterfly over `group` consecutive lanes of the subgroup (a power of two no larger
// than the subgroup, lanes aligned to it). Every lane adds lower + upper, so lane 0 of the
// group ends with the same tree as ls_tree_push. Shuffles are bit-preserving.
// Must be called in uniform control flow across the subgroup.
float ls_tree_subgroup(float v, uint group) {
  for (uint off = 1u; off < group; off <<= 1) {
    float other = subgroupShuffleXor(v, off);
    bool upper = (gl_SubgroupInvocationID & off) != 0u;
    v = upper ? ls_add(other, v) : ls_add(v, other);
  }
  return v;
}

