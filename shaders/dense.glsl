// Dense (fully connected), the body of dense_fixed.comp and dense_free.comp.
//
// Split-K over a group of G lanes (a power of two, at most the subgroup size, lanes aligned to
// it): the group computes R consecutive output rows of one sample, each lane a share of the
// reduction, and the shares are joined across the group by an xor-butterfly of shuffles
// (bit-preserving). Operands are read as vec4s (RGBA32F texel buffers with LS_TEXEL, else vec4
// storage buffers; with VEC false, rows are not vec4-aligned and each vec4 is read as four
// floats): an input vec4 serves the R rows, so a lane reads R + 1 vec4s per 4R multiply-adds.
// A weight matrix larger than one binding may be one chunk of rows (row_begin, rows).
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

layout(constant_id = 8) const bool HAS_BIAS = true;
layout(constant_id = 9) const bool RELU = false;
layout(constant_id = 10) const uint R = 4u;    // output rows per lane group
layout(constant_id = 11) const uint G = 8u;    // lanes per group
layout(constant_id = 12) const bool VEC = true;  // in % 4 == 0: rows start on vec4s

#if LS_TEXEL
layout(binding = 0) uniform samplerBuffer x_texels;
layout(binding = 1) uniform samplerBuffer w_texels;
vec4 x_vec4(uint i) { return texelFetch(x_texels, int(i)); }
vec4 w_vec4(uint i) { return texelFetch(w_texels, int(i)); }
#else
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W4 { vec4 w4[]; };
layout(std430, binding = 1) readonly buffer W { float wt[]; };
vec4 x_vec4(uint i) { return x4[i]; }
vec4 w_vec4(uint i) { return w4[i]; }
#endif
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint n, in_features, out_features, row_begin, rows, slices, per_slice; } pc;

// Elements [4q, 4q + 4) of row `row` of x (row = sample) or of the weight chunk; past the end of
// the row: zeros (the callers never use them).
vec4 x_quad(uint row, uint q) {
  if (VEC) return x_vec4(row * (pc.in_features / 4u) + q);
#if !LS_TEXEL
  vec4 v = vec4(0.0);
  uint base = row * pc.in_features + 4u * q;
  [[unroll]] for (uint c = 0u; c < 4u; ++c) if (4u * q + c < pc.in_features) v[c] = x[base + c];
  return v;
#else
  return vec4(0.0);
#endif
}
vec4 w_quad(uint row, uint q) {
  if (VEC) return w_vec4(row * (pc.in_features / 4u) + q);
#if !LS_TEXEL
  vec4 v = vec4(0.0);
  uint base = row * pc.in_features + 4u * q;
  [[unroll]] for (uint c = 0u; c < 4u; ++c) if (4u * q + c < pc.in_features) v[c] = wt[base + c];
  return v;
#else
  return vec4(0.0);
#endif
}

uint g_lane;               // lane within the group
uint g_sample, g_row0;     // this pass: the sample and the first of the R rows (in the chunk)
bool g_row_ok[R];

// The passes: each group takes one (sample, block of R rows) per pass; the loop bound is the
// same for the whole workgroup, so shuffles stay in uniform control flow.
uint group_index() {
  uint lid = gl_SubgroupID * gl_SubgroupSize + gl_SubgroupInvocationID;
  g_lane = gl_SubgroupInvocationID & (G - 1u);
  return lid / G;
}
uint blocks_per_sample() { return (pc.rows + R - 1u) / R; }
void set_item(uint item, uint items) {
  uint it = min(item, items - 1u);
  g_sample = it / blocks_per_sample();
  g_row0 = (it % blocks_per_sample()) * R;
  [[unroll]] for (uint r = 0u; r < R; ++r) g_row_ok[r] = item < items && g_row0 + r < pc.rows;
}
uint weight_row(uint r) { return min(g_row0 + r, pc.rows - 1u); }

float ls_finish(float v, uint row);  // the order's bias and ReLU

void store_rows(float v[R]) {
  if (g_lane != 0u) return;
  [[unroll]] for (uint r = 0u; r < R; ++r) {
    if (!g_row_ok[r]) continue;
    uint row = pc.row_begin + g_row0 + r;
    y[g_sample * pc.out_features + row] = ls_finish(v[r], row);
  }
}
