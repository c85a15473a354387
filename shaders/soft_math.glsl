// Software exp and reciprocal from exact operations, the same sequence as
// engine/numerics/fixed_arith.cpp (soft_exp, soft_reciprocal). Needs fixed_arith.glsl.
float ls_pow2i(int n) { return uintBitsToFloat(uint(n + 127) << 23); }

float ls_exp(float x) {
  if (isnan(x)) return x;
  if (x > uintBitsToFloat(0x42b17218u)) return uintBitsToFloat(0x7f800000u);
  if (x < uintBitsToFloat(0xc2cff1b5u)) return 0.0;
  float nf = floor(ls_add(ls_mul(x, uintBitsToFloat(0x3fb8aa3bu)), 0.5));
  int n = int(nf);
  float r = ls_sub(ls_sub(x, ls_mul(nf, uintBitsToFloat(0x3f318000u))), ls_mul(nf, uintBitsToFloat(0xb95e8083u)));
  float p = uintBitsToFloat(0x39506967u);
  p = ls_add(ls_mul(p, r), uintBitsToFloat(0x3ab743ceu));
  p = ls_add(ls_mul(p, r), uintBitsToFloat(0x3c088908u));
  p = ls_add(ls_mul(p, r), uintBitsToFloat(0x3d2aa9c1u));
  p = ls_add(ls_mul(p, r), uintBitsToFloat(0x3e2aaaaau));
  p = ls_add(ls_mul(p, r), uintBitsToFloat(0x3f000000u));
  p = ls_add(ls_add(ls_mul(p, ls_mul(r, r)), r), 1.0);
  int n1 = n >> 1;
  int n2 = n - n1;
  return ls_mul(ls_mul(p, ls_pow2i(n1)), ls_pow2i(n2));
}

float ls_reciprocal(float s) {
  float r = uintBitsToFloat(0x7EF311C3u - floatBitsToUint(s));
  for (int i = 0; i < 4; ++i) r = ls_mul(r, ls_sub(2.0, ls_mul(s, r)));
  return r;
}

void ls_split(float a, out float hi, out float lo) {
  float c = ls_mul(4097.0, a);
  hi = ls_sub(c, ls_sub(c, a));
  lo = ls_sub(a, hi);
}

float ls_divide(float a, float s, float inv) {
  float q = ls_mul(a, inv);
  float p = ls_mul(q, s);
  float qh, ql, sh, sl;
  ls_split(q, qh, ql);
  ls_split(s, sh, sl);
  float err = ls_add(ls_add(ls_add(ls_sub(ls_mul(qh, sh), p), ls_mul(qh, sl)), ls_mul(ql, sh)), ls_mul(ql, sl));
  float residual = ls_sub(ls_sub(a, p), err);
  return ls_add(q, ls_mul(residual, inv));
}
