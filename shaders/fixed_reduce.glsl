// The canonical tree of engine/numerics/reduction_plan.hpp on the device.
// Needs fixed_arith.glsl. The subgroup half is fixed_tree_subgroup.glsl.

// kMaxSlices = 1024 -> 10 levels, plus the result.
#define LS_MAX_LEVELS 11

// Pushes partial number `index` (ascending from 0) onto a binary-counter stack. After a
// power-of-two count P of pushes, stack[log2(P)] holds the pairwise tree of the P partials,
// each node `lower + upper`.
void ls_tree_push(inout float stack[LS_MAX_LEVELS], uint index, float v) {
  uint level = 0u;
  while ((index & 1u) != 0u) {
    v = ls_add(stack[level], v);
    index >>= 1;
    level++;
  }
  stack[level] = v;
}

uint ls_log2(uint pow2) { return uint(findMSB(pow2)); }
