// `lockstep peak`: the multiply-add ceiling. Included by peak_fp32_*.comp and peak_fp16_*.comp,
// which define T (float, vec4, float16_t, f16vec4) and SUM(a) (the sum of a T's components).
//
// Each invocation runs CHAINS independent recurrences a = a*m + c (m and c from push constants,
// so nothing folds), 4 steps per loop iteration, ITERS iterations. Independent chains hide the
// add/multiply latency: one dependent chain measures latency, not throughput. FMA selects
// fma(a, m, c); otherwise a `precise` multiply and a separate add (no contraction), as the
// fixed-order muladd contract executes them. With m = 0.5 and c = 0.5 every chain converges to
// 1 without ever meeting a denormal; each invocation writes the sum of its chains (the checksum
// the host verifies), so the work cannot be optimised away.
#include "common.glsl"

layout(constant_id = 10) const int CHAINS = 8;  // 1..16
layout(constant_id = 11) const bool FMA = false;

layout(std430, binding = 0) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Push { uint iters; float mul; float add; float start; } pc;

#define MAD_FMA(a) a = fma(a, m, c)
#define MAD_MUL(a) a = a * m + c
// One step of every chain, interleaved so that consecutive operations are independent.
#define STEP(MAD)                                                                                       \
  MAD(a0);                                                                                              \
  if (CHAINS > 1) MAD(a1);                                                                              \
  if (CHAINS > 2) { MAD(a2); MAD(a3); }                                                                 \
  if (CHAINS > 4) { MAD(a4); MAD(a5); MAD(a6); MAD(a7); }                                               \
  if (CHAINS > 8) { MAD(a8); MAD(a9); MAD(a10); MAD(a11); MAD(a12); MAD(a13); MAD(a14); MAD(a15); }

void main() {
  const uint gid = ls_global_index();
  const T m = T(pc.mul), c = T(pc.add);
  // Different starting values per invocation and chain; every one converges to c / (1 - m).
  const T s = T(pc.start * float(gid % 16u));
  precise T a0 = s + T(0.0), a1 = s + T(0.0625), a2 = s + T(0.125), a3 = s + T(0.1875);
  precise T a4 = s + T(0.25), a5 = s + T(0.3125), a6 = s + T(0.375), a7 = s + T(0.4375);
  precise T a8 = s + T(0.5), a9 = s + T(0.5625), a10 = s + T(0.625), a11 = s + T(0.6875);
  precise T a12 = s + T(0.75), a13 = s + T(0.8125), a14 = s + T(0.875), a15 = s + T(0.9375);
  if (FMA) {
    for (uint i = 0u; i < pc.iters; ++i) {
      STEP(MAD_FMA);
      STEP(MAD_FMA);
      STEP(MAD_FMA);
      STEP(MAD_FMA);
    }
  } else {
    for (uint i = 0u; i < pc.iters; ++i) {
      STEP(MAD_MUL);
      STEP(MAD_MUL);
      STEP(MAD_MUL);
      STEP(MAD_MUL);
    }
  }
  // Chains that did not run (CHAINS < 16) are left out of the checksum.
  float sum = SUM(a0);
  if (CHAINS > 1) sum += SUM(a1);
  if (CHAINS > 2) sum += SUM(a2) + SUM(a3);
  if (CHAINS > 4) sum += SUM(a4) + SUM(a5) + SUM(a6) + SUM(a7);
  if (CHAINS > 8) sum += SUM(a8) + SUM(a9) + SUM(a10) + SUM(a11) + SUM(a12) + SUM(a13) + SUM(a14) + SUM(a15);
  result[gid] = sum;
}
