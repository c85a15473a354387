// Register-tiled convolution: the body of conv2d_tiled_fixed.comp and conv2d_tiled_free.comp.
//
// An invocation computes a tile of 4*TC output channels x TP consecutive output pixels of one
// output row. A workgroup is TW consecutive tiles x (workgroup size / TW) consecutive channel
// groups, so a subgroup (TW a multiple of its size) works on one channel group. The reduction
// walks rows r = ci*KH + ky in ascending order; per row the tile loads its input row segment once
// and its KW*4*TC weights once, then does KW*TC*TP vec4 multiply-accumulates (kx ascending).
//
// Loads are what costs on CPU drivers, where every per-invocation load is a loop over the SIMD
// lanes, so: with G > 0 the G lanes of a group share a row's weights (each loads 1/G of them,
// the others read them with subgroupShuffle at constant indices, bit-preserving); with XV == 4 an
// input row segment is read as aligned vec4s. Weights are OIHW, or with PACKED the layout of
// Conv2d::pack_weight: [co / 4TC][ci][ky][kx][4TC] (zero-padded channels), one vec4 per (kx, g).
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

layout(constant_id = 8) const bool HAS_BIAS = true;
layout(constant_id = 9) const bool RELU = false;
layout(constant_id = 10) const uint KH = 3u;
layout(constant_id = 11) const uint KW = 3u;
layout(constant_id = 12) const uint SW = 1u;      // stride along x
layout(constant_id = 13) const uint TC = 4u;      // groups of 4 output channels per tile
layout(constant_id = 14) const uint TP = 8u;      // output pixels per tile
layout(constant_id = 15) const uint LEVELS = 0u;  // fixed order: log2(slices)
layout(constant_id = 16) const uint G = 0u;       // weight sharing group (a power of two); 0: none
layout(constant_id = 17) const uint XV = 1u;      // 4: input rows read as aligned vec4s (needs w % 4 == 0, TP*SW % 4 == 0)
layout(constant_id = 18) const uint XR = 0u;      // with XV 4: (-pad_left) mod 4
layout(constant_id = 19) const uint TW = 64u;     // tiles per workgroup
layout(constant_id = 20) const bool PACKED = false;

const uint RS = (TP - 1u) * SW + KW;   // input columns a tile row spans
const uint NACC = TC * TP;             // vec4 accumulators
const uint NWR = KW * TC;              // weight vec4s per row of the reduction
const uint NWF = NWR * 4u;
const uint GG = G > 0u ? G : 1u;
const uint NQ = (NWR + GG - 1u) / GG;  // vec4s each lane loads per row (shared, packed)
const uint NQF = (NWF + GG - 1u) / GG; // floats each lane loads per row (shared, OIHW)
const uint NXV = (XR + RS + 3u) / 4u;  // vec4s a tile row spans (XV 4)

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) readonly buffer W { float wt[]; };
layout(std430, binding = 1) readonly buffer W4 { vec4 wt4[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
  uint n, c_in, h, w, c_out, stride_h, pad_top, pad_left, out_h, out_w, slices, per_slice, tiles_x, co_groups;
} pc;

uint t_n, t_cg, t_oy, t_ox0;
int t_iy0, t_ix0;
bool t_live;
bool colok[RS];
uint colx[RS];
vec4 acc[NACC];

bool share_weights() { return G > 0u && gl_SubgroupSize >= G && TW % gl_SubgroupSize == 0u; }
bool column_used(uint j) { return SW <= KW || j % SW < KW; }

// Which tile this invocation computes. Invocations past the end compute a clamped tile and
// store nothing, so that every lane of a subgroup takes part in every shuffle.
void tile_setup() {
  uint g = ls_linear_group();
  // With shared weights the host requires full subgroups: number the invocations by subgroup, so
  // that each subgroup is TW / gl_SubgroupSize whole runs of tiles in one channel group.
  uint lid = share_weights() ? gl_SubgroupID * gl_SubgroupSize + gl_SubgroupInvocationID : gl_LocalInvocationID.x;
  uint tiles = pc.out_h * pc.tiles_x;
  uint cw = gl_WorkGroupSize.x / TW;
  uint tgroups = (tiles + TW - 1u) / TW;
  uint cgroups = (pc.co_groups + cw - 1u) / cw;
  uint t = (g % tgroups) * TW + lid % TW;
  uint rest = g / tgroups;
  uint cg = (rest % cgroups) * cw + lid / TW;
  uint n = rest / cgroups;
  t_live = t < tiles && cg < pc.co_groups && n < pc.n;
  t = min(t, tiles - 1u);
  t_cg = min(cg, pc.co_groups - 1u);
  t_n = min(n, pc.n - 1u);
  t_oy = t / pc.tiles_x;
  t_ox0 = (t % pc.tiles_x) * TP;
  t_iy0 = int(t_oy * pc.stride_h) - int(pc.pad_top);
  t_ix0 = int(t_ox0 * SW) - int(pc.pad_left);
  [[unroll]] for (uint j = 0u; j < RS; ++j) {
    int ix = t_ix0 + int(j);
    colok[j] = ix >= 0 && ix < int(pc.w);
    colx[j] = uint(clamp(ix, 0, int(pc.w) - 1));
  }
}

// OIHW: weight float f (0 <= f < NWF) of row (ci, ky), f = (4 * g + c) * KW + kx: kx fastest, so
// that neighbouring lanes read neighbouring addresses.
uint oihw_f(uint kx, uint g, uint c) { return (4u * g + c) * KW + kx; }
float oihw_weight(uint ci, uint ky, uint f) {
  uint co = min(t_cg * 4u * TC + f / KW, pc.c_out - 1u);  // padding channels: never stored
  return wt[((co * pc.c_in + ci) * KH + ky) * KW + f % KW];
}

vec4 ls_mac4(vec4 a, vec4 xv, vec4 wv);  // the order's multiply-accumulate

// acc += rows [r0, r1) of the reduction (r = ci * KH + ky), rows ascending, kx ascending within
// a row. Taps in the padding leave the accumulator untouched.
void accumulate_rows(uint r0, uint r1) {
  uint lane = gl_SubgroupInvocationID & (GG - 1u);
  for (uint r = r0; r < r1; ++r) {
    uint ci = r / KH;
    uint ky = r - ci * KH;
    int iy = t_iy0 + int(ky);
    bool rowok = iy >= 0 && iy < int(pc.h);
    uint xrow = ((t_n * pc.c_in + ci) * pc.h + uint(clamp(iy, 0, int(pc.h) - 1))) * pc.w;
    float xv[RS];
    if (XV == 4u) {
      // Columns outside the row come from neighbouring data or a clamped vec4: never used.
      int v0 = (int(xrow) + t_ix0 - int(XR)) >> 2;
      int vmax = int(x4.length()) - 1;
      vec4 xq[NXV];
      [[unroll]] for (uint k = 0u; k < NXV; ++k) xq[k] = x4[clamp(v0 + int(k), 0, vmax)];
      [[unroll]] for (uint j = 0u; j < RS; ++j) xv[j] = xq[(XR + j) >> 2][(XR + j) & 3u];
    } else {
      [[unroll]] for (uint j = 0u; j < RS; ++j) xv[j] = column_used(j) ? x[xrow + colx[j]] : 0.0;
    }
    uint wrow = (t_cg * pc.c_in * KH + r) * NWR;  // packed: this row's first vec4
    vec4 wq[NQ];
    float wf[NQF];
    if (share_weights()) {
      if (PACKED) {
        [[unroll]] for (uint q = 0u; q < NQ; ++q) wq[q] = wt4[wrow + min(q * GG + lane, NWR - 1u)];
      } else {
        [[unroll]] for (uint q = 0u; q < NQF; ++q) wf[q] = oihw_weight(ci, ky, min(q * GG + lane, NWF - 1u));
      }
    }
    [[unroll]] for (uint kx = 0u; kx < KW; ++kx) {
      [[unroll]] for (uint g = 0u; g < TC; ++g) {
        uint e = kx * TC + g;
        vec4 wv;
        if (share_weights() && PACKED) {
          wv = subgroupShuffle(wq[e / GG], e % GG);
        } else if (share_weights()) {
          [[unroll]] for (uint c = 0u; c < 4u; ++c) wv[c] = subgroupShuffle(wf[oihw_f(kx, g, c) / GG], oihw_f(kx, g, c) % GG);
        } else if (PACKED) {
          wv = wt4[wrow + e];
        } else {
          [[unroll]] for (uint c = 0u; c < 4u; ++c) wv[c] = oihw_weight(ci, ky, oihw_f(kx, g, c));
        }
        [[unroll]] for (uint p = 0u; p < TP; ++p) {
          uint j = p * SW + kx;
          vec4 a = acc[g * TP + p];
          vec4 m = ls_mac4(a, vec4(xv[j]), wv);
          acc[g * TP + p] = (rowok && colok[j]) ? m : a;
        }
      }
    }
  }
}

// Output (4 * (t_cg * TC + g) + c, pixel p) of this tile, or false where there is none.
bool output_index(uint g, uint c, uint p, out uint co, out uint index) {
  co = (t_cg * TC + g) * 4u + c;
  index = ((t_n * pc.c_out + co) * pc.out_h + t_oy) * pc.out_w + t_ox0 + p;
  return t_live && co < pc.c_out && t_ox0 + p < pc.out_w;
}
