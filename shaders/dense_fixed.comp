#version 450
// Dense, fixed order (dense.glsl). The canonical slices of plan_dense_reduction (per_slice a
// multiple of 4 elements) are dealt round the G lanes of a group: in step k, lane l sums slice
// k*G + l from +0.0 in ascending order with ls_mac (vec4 by vec4, components in order), an
// xor-butterfly joins the G slices of the step (an aligned subtree of the canonical tree), and
// every lane pushes that partial k into the same binary counter (the tree of ls_tree_push,
// static indices): the canonical tree over all S slices. The lanes of a group read
// neighbouring slices, one stream per row (with a range of slices per lane, VGG's fc1 took
// 2.2x the time at subgroup 8). The result depends on neither the subgroup size nor G nor the
// workgroup size.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "fixed_arith.glsl"
#include "fixed_tree_subgroup.glsl"
#include "dense.glsl"

layout(constant_id = 13) const uint SQ = 1u;  // vec4s per slice (per_slice / 4)
layout(constant_id = 14) const uint LL = 0u;  // log2(S / G): the steps' tree levels

float ls_finish(float v, uint row) {
  if (HAS_BIAS) v = ls_add(v, bias[row]);
  return RELU ? ls_relu(v) : v;
}

const uint NL = LL > 0u ? LL : 1u;
float acc[R];
float stack[R * NL];

// acc[r] += the slice's vec4s [q0, q1), ascending, elements past the end of the row skipped.
void accumulate(uint q0, uint q1) {
  for (uint q = q0; q < q1; ++q) {
    vec4 xv = x_quad(g_sample, q);
    [[unroll]] for (uint r = 0u; r < R; ++r) {
      vec4 wv = w_quad(weight_row(r), q);
      [[unroll]] for (uint c = 0u; c < 4u; ++c)
        if (VEC || 4u * q + c < pc.in_features) acc[r] = ls_mac(acc[r], xv[c], wv[c]);
    }
  }
}

// Pushes acc as the lane's partial number j: lower + upper for the levels below the trailing
// ones of j, then stored at that level (selects on the uniform-per-lane j: static indices).
void push_partial(uint j) {
  uint ones = uint(findLSB(~j));
  [[unroll]] for (uint l = 0u; l < LL; ++l) {
    [[unroll]] for (uint r = 0u; r < R; ++r) {
      float sl = stack[r * NL + l];
      float v = l < ones ? ls_add(sl, acc[r]) : acc[r];
      stack[r * NL + l] = l == ones ? v : sl;
      acc[r] = v;
    }
  }
}

void main() {
  uint groups_per_wg = gl_WorkGroupSize.x / G;
  uint group = group_index();
  uint items = pc.n * blocks_per_sample();
  uint steps = 1u << LL;  // S / G
  uint quads = (pc.in_features + 3u) / 4u;
  // Slices before `full` hold SQ vec4s each (unrolled); the next one may be shorter, the rest
  // are empty. Steps whose G slices are all full run in the first loop, the others in the
  // second: an if inside the first loop would cost llvmpipe a select per multiply-add. Both
  // bounds are uniform, so the butterflies run in uniform control flow.
  uint full = quads / SQ;
  if (!VEC) full = pc.in_features / (4u * SQ);
  uint full_steps = min(steps, full / G);
  for (uint base = ls_linear_group() * groups_per_wg; base < items; base += ls_group_count() * groups_per_wg) {
    set_item(base + group, items);
    [[unroll]] for (uint i = 0u; i < R * NL; ++i) stack[i] = 0.0;
    for (uint k = 0u; k < full_steps; ++k) {
      uint q0 = (k * G + g_lane) * SQ;
      // The slice's sums in loop-local values (straight-line code: plain SSA values for the
      // driver); only the push writes state that lives across iterations. Accumulating in
      // `acc` itself made llvmpipe mask every multiply-add with the loop's mask (scalar
      // selects): 2x free order on VGG's fc1.
      float a[R];
      [[unroll]] for (uint r = 0u; r < R; ++r) a[r] = 0.0;
      [[unroll]] for (uint q = 0u; q < SQ; ++q) {
        vec4 xv = x_quad(g_sample, q0 + q);
        [[unroll]] for (uint r = 0u; r < R; ++r) {
          vec4 wv = w_quad(weight_row(r), q0 + q);
          [[unroll]] for (uint c = 0u; c < 4u; ++c) a[r] = ls_mac(a[r], xv[c], wv[c]);
        }
      }
      [[unroll]] for (uint r = 0u; r < R; ++r) acc[r] = ls_tree_subgroup(a[r], G);
      push_partial(k);
    }
    for (uint k = full_steps; k < steps; ++k) {
      uint q0 = min(quads, (k * G + g_lane) * SQ);
      [[unroll]] for (uint r = 0u; r < R; ++r) acc[r] = 0.0;
      accumulate(q0, min(quads, q0 + SQ));
      [[unroll]] for (uint r = 0u; r < R; ++r) acc[r] = ls_tree_subgroup(acc[r], G);
      push_partial(k);
    }
    store_rows(acc);  // acc: the whole tree (from the push of partial steps - 1), in every lane
  }
}
