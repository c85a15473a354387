// Register-tiled convolution: the body of conv2d_fixed.comp and conv2d_free.comp.
//
// An invocation computes M = 4*MG output channels x P output pixels (a tile) over the whole
// reduction; a workgroup is TW consecutive tiles x (workgroup size / TW) consecutive blocks of
// M channels, TW a multiple of the subgroup size (small images: TW < 64, more blocks).
// The reduction walks rows r = (ci, ky) in ascending order; per row the tile reads its input
// row segment once (RS values, as vec4s) and the row's KW*M weights once (as vec4s), then does
// KW*MG*P vec4 multiply-accumulates, kx ascending. Taps in the padding read +0.0 (zero
// padding, as in the frameworks; the CPU reference does the same).
//
// Tiles: FLAT (stride 1, out_w == w): P consecutive pixels of the flattened output plane,
// which may span rows; the input segment of a row ky is then contiguous in the flattened input
// plane too, and a tap is valid per (pixel, ky, kx). Otherwise P consecutive pixels of one
// output row (strided convolutions).
//
// Reads: with LS_TEXEL through RGBA32F texel buffers, else vec4 storage buffers. A segment
// starts anywhere in a vec4: with ALIGNED the host guarantees that its offset within the vec4
// is a compile-time function of ky (planes and tiles aligned to 4 floats), else it is taken
// per invocation and each value picked with selects.
//
// Weights: the layout of Conv2d::pack_weight, [c_out / M][ci][ky][kx][M] (zero-padded
// channels), so a row is KW*MG consecutive vec4s. With G > 0 the G lanes of a subgroup load a
// row's vec4s cooperatively (each 1/G of them) and read the others' with subgroupShuffle at
// constant lanes (bit-preserving): per-invocation loads are what costs on CPU drivers.
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

layout(constant_id = 8) const bool HAS_BIAS = true;
layout(constant_id = 9) const bool RELU = false;
layout(constant_id = 10) const uint KH = 3u;
layout(constant_id = 11) const uint KW = 3u;
layout(constant_id = 12) const uint SW = 1u;        // stride along x
layout(constant_id = 13) const uint MG = 4u;        // vec4 groups of output channels per tile
layout(constant_id = 14) const uint P = 4u;         // output pixels per tile
layout(constant_id = 15) const uint LEVELS = 0u;    // fixed order: log2(slices)
layout(constant_id = 16) const uint G = 0u;         // weight-sharing lanes (a power of two); 0: none
layout(constant_id = 17) const bool FLAT = false;
layout(constant_id = 18) const bool ALIGNED = false;
layout(constant_id = 19) const uint WM4 = 0u;       // w mod 4 (ALIGNED)
layout(constant_id = 20) const uint PT = 0u;        // padding above
layout(constant_id = 21) const uint PL = 0u;        // padding on the left
layout(constant_id = 22) const bool YVEC = false;   // outputs stored as aligned vec4s
layout(constant_id = 24) const uint TW = 64u;       // tiles per channel block in a workgroup
layout(constant_id = 25) const uint CU = 1u;        // channels per loop iteration (divides every channel range)
// A residual add fused into the epilogue (the graph's Add of this output and another tensor of
// its shape, then ReLU): 0 none, 1 out = conv + residual, 2 out = residual + conv (the Add's
// operand order, kept: the same bits as the separate Add).
layout(constant_id = 26) const uint RESIDUAL = 0u;

#if LS_TEXEL
layout(binding = 0) uniform samplerBuffer x_texels;
layout(binding = 1) uniform samplerBuffer w_texels;
vec4 x_vec(int i) { return texelFetch(x_texels, i); }
vec4 w_vec(uint i) { return texelFetch(w_texels, int(i)); }
#else
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) readonly buffer W4 { vec4 w4[]; };
vec4 x_vec(int i) { return x4[i]; }
vec4 w_vec(uint i) { return w4[i]; }
#endif
layout(std430, binding = 2) readonly buffer B { float bias[]; };
// Results: with LS_TEXEL_STORE through an RGBA32F storage texel buffer, whole vec4s only (the
// host sets it only with YVEC, where a tile's quads are all inside the output or all outside):
// on CPU drivers a texel store writes a lane's vec4 at once, a storage-buffer store is a loop
// over lanes per float.
#if LS_TEXEL_STORE
layout(rgba32f, binding = 3) uniform writeonly imageBuffer y_texels;
void store_vec(uint i, vec4 v) { imageStore(y_texels, int(i), v); }
void store_one(uint i, float v) {}
#else
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(std430, binding = 3) writeonly buffer Y4 { vec4 y4[]; };
void store_vec(uint i, vec4 v) { y4[i] = v; }
void store_one(uint i, float v) { y[i] = v; }
#endif
#if LS_TEXEL
layout(binding = 4) uniform samplerBuffer res_texels;
vec4 res_vec(uint i) { return texelFetch(res_texels, int(i)); }
#else
layout(std430, binding = 4) readonly buffer Res4 { vec4 res4[]; };
vec4 res_vec(uint i) { return res4[i]; }
#endif
float res_at(uint i) { return res_vec(i >> 2)[i & 3u]; }
layout(push_constant) uniform Push {
  uint n, c_in, h, w, c_out, stride_h, out_h, out_w, slices, per_slice, tiles, cblocks, x_vecs;
} pc;

const uint M = 4u * MG;
const uint RS = (P - 1u) * SW + KW;    // input values a tile row spans
const uint NXV = (RS + 6u) / 4u;       // vec4s such a segment can touch
const uint NWV = KW * MG;              // weight vec4s per row of the reduction
const uint GG = G > 0u ? G : 1u;
const uint NQ = (NWV + GG - 1u) / GG;  // weight vec4s each lane loads per row when sharing
const uint NACC = MG * P;

uint t_n, t_cb, t_opix;  // image, channel block, first output pixel of the tile in its plane
int t_seg0;              // flattened input offset of the segment of ky = 0 in its plane
bool t_live;
bool t_outok[P];
vec4 ls_mac4(vec4 a, vec4 xv, vec4 wv);  // the order's multiply-accumulate
// Valid taps (separable: the input row is valid and the input column is). FLAT: per pixel,
// bit ky of t_rowbits[p] and bit kx of t_colbits[p]. Rows: bit ky of t_rowbits[0] for the
// whole tile, bit j of t_colbits[0] for segment column j.
uint t_rowbits[FLAT ? P : 1u];
uint t_colbits[FLAT ? P : 1u];
vec4 acc[NACC];

// The host sets G only where subgroups are full and at least G lanes wide.
bool share_weights() { return G > 0u; }

// Which tile this invocation computes. Invocations past the end compute a clamped tile and
// store nothing, so that every lane of a subgroup takes part in every shuffle.
void tile_setup() {
  uint g = ls_linear_group();
  // With shared weights every subgroup must lie within one channel block: number the
  // invocations by subgroup (the host then requires full subgroups).
  uint lid = share_weights() ? gl_SubgroupID * gl_SubgroupSize + gl_SubgroupInvocationID : gl_LocalInvocationID.x;
  uint cw = gl_WorkGroupSize.x / TW;
  uint tgroups = (pc.tiles + TW - 1u) / TW;
  uint cgroups = (pc.cblocks + cw - 1u) / cw;
  uint t = (g % tgroups) * TW + lid % TW;
  uint rest = g / tgroups;
  uint cb = (rest % cgroups) * cw + lid / TW;
  uint n = rest / cgroups;
  t_live = t < pc.tiles && cb < pc.cblocks && n < pc.n;
  t = min(t, pc.tiles - 1u);
  t_cb = min(cb, pc.cblocks - 1u);
  t_n = min(n, pc.n - 1u);
  uint oy0, ox0;
  if (FLAT) {
    t_opix = t * P;
    oy0 = t_opix / pc.out_w;
    ox0 = t_opix % pc.out_w;
    t_seg0 = int(t_opix) - int(PT * pc.w) - int(PL);
  } else {
    uint tiles_x = (pc.out_w + P - 1u) / P;
    oy0 = t / tiles_x;
    ox0 = (t % tiles_x) * P;
    t_opix = oy0 * pc.out_w + ox0;
    t_seg0 = (int(oy0 * pc.stride_h) - int(PT)) * int(pc.w) + int(ox0 * SW) - int(PL);
  }
  if (FLAT) {
    [[unroll]] for (uint p = 0u; p < P; ++p) {
      uint oy = (t_opix + p) / pc.out_w, ox = (t_opix + p) % pc.out_w;
      t_outok[p] = t_live && t_opix + p < pc.out_h * pc.out_w;
      uint rows = 0u, cols = 0u;
      [[unroll]] for (uint ky = 0u; ky < KH; ++ky) {
        int iy = int(oy + ky) - int(PT);
        if (iy >= 0 && iy < int(pc.h)) rows |= 1u << ky;
      }
      [[unroll]] for (uint kx = 0u; kx < KW; ++kx) {
        int ix = int(ox + kx) - int(PL);
        if (ix >= 0 && ix < int(pc.w)) cols |= 1u << kx;
      }
      t_rowbits[p] = rows;
      t_colbits[p] = cols;
    }
  } else {
    [[unroll]] for (uint p = 0u; p < P; ++p) t_outok[p] = t_live && ox0 + p < pc.out_w;
    uint rows = 0u, cols = 0u;
    [[unroll]] for (uint ky = 0u; ky < KH; ++ky) {
      int iy = int(oy0 * pc.stride_h + ky) - int(PT);
      if (iy >= 0 && iy < int(pc.h)) rows |= 1u << ky;
    }
    [[unroll]] for (uint j = 0u; j < RS; ++j) {
      int ix = int(ox0 * SW + j) - int(PL);
      if (ix >= 0 && ix < int(pc.w)) cols |= 1u << j;
    }
    t_rowbits[0] = rows;
    t_colbits[0] = cols;
  }
}


// The values one step of the reduction reads: CU input channels x KH rows. Per row, the tap
// inputs (+0.0 in the padding) and the lane's share of the row's weight vec4s.
const uint NXIN = FLAT ? P * KW : RS;  // tap inputs per row
float s_xin[CU * KH * NXIN];
vec4 s_wq[CU * KH * NQ];
uint s_wrow[CU * KH];  // first weight vec4 of each row (loads without sharing)

// Reads row r = k * KH + ky of the step: input channel ci, kernel row ky.
void read_row(uint r, uint ci, uint ky) {
  uint lane = gl_SubgroupInvocationID & (GG - 1u);
  int vmax = int(pc.x_vecs) - 1;
  int plane = int((t_n * pc.c_in + ci) * pc.h * pc.w);
  // The row segment: RS consecutive input values from flattened offset `start`.
  int start = plane + t_seg0 + int(ky * pc.w);
  int v0 = start >> 2;  // floor: start may be negative above the image
  uint s = ALIGNED ? uint((int(ky) - int(PT)) * int(WM4) - int(PL)) & 3u : uint(start) & 3u;
  uint nx = ALIGNED ? (s + RS + 3u) / 4u : NXV;
  vec4 xq[NXV];
  [[unroll]] for (uint k = 0u; k < NXV; ++k)
    if (k < nx) xq[k] = x_vec(clamp(v0 + int(k), 0, vmax));
  float seg[RS];
  [[unroll]] for (uint j = 0u; j < RS; ++j) {
    if (ALIGNED) {
      seg[j] = xq[(s + j) >> 2][(s + j) & 3u];
    } else {
      uint c = (s + j) & 3u;
      vec4 v = s + (j & 3u) >= 4u ? xq[min((j >> 2) + 1u, NXV - 1u)] : xq[j >> 2];
      seg[j] = c == 0u ? v.x : (c == 1u ? v.y : (c == 2u ? v.z : v.w));
    }
  }
  // The tap inputs, +0.0 in the padding: per (pixel, kx) in FLAT tiles (a segment value can
  // be a valid tap for one pixel and padding for its neighbour in the next row), else per
  // segment column.
  if (FLAT) {
    [[unroll]] for (uint p = 0u; p < P; ++p)
      [[unroll]] for (uint kx = 0u; kx < KW; ++kx)
        s_xin[r * NXIN + p * KW + kx] = ((t_rowbits[p] >> ky) & (t_colbits[p] >> kx) & 1u) != 0u ? seg[p + kx] : 0.0;
  } else {
    bool row = ((t_rowbits[0] >> ky) & 1u) != 0u;
    [[unroll]] for (uint j = 0u; j < RS; ++j)
      s_xin[r * NXIN + j] = row && ((t_colbits[0] >> j) & 1u) != 0u ? seg[j] : 0.0;
  }
  uint wrow = ((t_cb * pc.c_in + ci) * KH + ky) * NWV;
  s_wrow[r] = wrow;
  if (share_weights()) {
    [[unroll]] for (uint q = 0u; q < NQ; ++q) s_wq[r * NQ + q] = w_vec(wrow + min(q * GG + lane, NWV - 1u));
  }
}

// acc += input channels [ci, ci + CU), each ky then kx ascending. The step's inputs are read
// first, then the multiply-adds run one vec4 group of output channels (P accumulators) at a
// time: on CPU drivers the accumulators of a whole tile do not fit in registers, and this
// order moves each of them in and out once per step instead of once per tap.
void accumulate_step(uint ci) {
  [[unroll]] for (uint k = 0u; k < CU; ++k)
    [[unroll]] for (uint ky = 0u; ky < KH; ++ky) read_row(k * KH + ky, ci + k, ky);
  [[unroll]] for (uint g = 0u; g < MG; ++g) {
    [[unroll]] for (uint r = 0u; r < CU * KH; ++r) {
      [[unroll]] for (uint kx = 0u; kx < KW; ++kx) {
        uint e = kx * MG + g;
        vec4 wv = share_weights() ? subgroupShuffle(s_wq[r * NQ + e / GG], e % GG) : w_vec(s_wrow[r] + e);
        [[unroll]] for (uint p = 0u; p < P; ++p)
          acc[g * P + p] = ls_mac4(acc[g * P + p], vec4(s_xin[r * NXIN + (FLAT ? p * KW + kx : p * SW + kx)]), wv);
      }
    }
  }
}

// acc += input channels [c0, c1), CU per loop iteration: on llvmpipe every iteration moves all
// accumulators, which costs as much as a 1x1 convolution's multiply-adds for one channel. One
// loop level only, for the same reason.
void accumulate_channels(uint c0, uint c1) {
  for (uint ci = c0; ci < c1; ci += CU) accumulate_step(ci);
}

float ls_finish(float v, uint co, float r);  // the order's bias, residual add (r) and ReLU

// Stores acc (after ls_finish): channel 4g + c of the block, pixel p of the tile. (Every
// unrolled loop here and above has constant bounds: a loop NIR cannot unroll would turn acc
// into an indirectly indexed array, which llvmpipe keeps in memory: ~20x slower.)
void store_tile() {
  uint opixels = pc.out_h * pc.out_w;
  [[unroll]] for (uint g = 0u; g < MG; ++g) {
    [[unroll]] for (uint c = 0u; c < 4u; ++c) {
      uint co = t_cb * M + g * 4u + c;
      if (co >= pc.c_out) continue;
      uint base = (t_n * pc.c_out + co) * opixels + t_opix;
      float r[P];  // the residual's values, where fused
      [[unroll]] for (uint p = 0u; p < P; ++p) r[p] = 0.0;
      if (RESIDUAL != 0u) {
        if (YVEC) {
          [[unroll]] for (uint q = 0u; q < P / 4u; ++q) {
            vec4 rv = res_vec(min(base + 4u * q, pc.n * pc.c_out * opixels - 4u) >> 2);
            [[unroll]] for (uint k = 0u; k < 4u; ++k) r[4u * q + k] = rv[k];
          }
        } else {
          [[unroll]] for (uint p = 0u; p < P; ++p)
            if (t_outok[p]) r[p] = res_at(base + p);
        }
      }
      float v[P];
      [[unroll]] for (uint p = 0u; p < P; ++p) v[p] = ls_finish(acc[g * P + p][c], co, r[p]);
      if (YVEC) {
        [[unroll]] for (uint q = 0u; q < P / 4u; ++q) {
          uint p = 4u * q;
          if (t_outok[p] && t_outok[p + 3u]) {
            store_vec((base + p) >> 2, vec4(v[p], v[p + 1u], v[p + 2u], v[p + 3u]));
          } else {
            [[unroll]] for (uint k = 0u; k < 4u; ++k)
              if (t_outok[p + k]) store_one(base + p + k, v[p + k]);
          }
        }
      } else {
        [[unroll]] for (uint p = 0u; p < P; ++p)
          if (t_outok[p]) store_one(base + p, v[p]);
      }
    }
  }
}
