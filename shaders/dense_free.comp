#version 450
// Dense, free order (dense.glsl): lane l of a group takes vec4s l, l + G, ... of the rows with
// fma() into vec4 accumulators (four chains), then the components and the group's lanes are
// summed in whatever order is fastest — results depend on G and the device.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "dense.glsl"

float ls_finish(float v, uint row) {
  if (HAS_BIAS) v += bias[row];
  return RELU ? max(v, 0.0) : v;
}

void main() {
  uint groups_per_wg = gl_WorkGroupSize.x / G;
  uint group = group_index();
  uint items = pc.n * blocks_per_sample();
  uint quads = (pc.in_features + 3u) / 4u;
  for (uint base = ls_linear_group() * groups_per_wg; base < items; base += ls_group_count() * groups_per_wg) {
    set_item(base + group, items);
    vec4 acc[R];
    [[unroll]] for (uint r = 0u; r < R; ++r) acc[r] = vec4(0.0);
    for (uint q = g_lane; q < quads; q += G) {
      vec4 xv = x_quad(g_sample, q);
      [[unroll]] for (uint r = 0u; r < R; ++r) acc[r] = fma(xv, w_quad(weight_row(r), q), acc[r]);
    }
    float v[R];
    [[unroll]] for (uint r = 0u; r < R; ++r) {
      float s = (acc[r].x + acc[r].y) + (acc[r].z + acc[r].w);
      [[unroll]] for (uint off = 1u; off < G; off <<= 1) s += subgroupShuffleXor(s, off);
      v[r] = s;
    }
    store_rows(v);
  }
}
