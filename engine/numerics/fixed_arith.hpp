// Canonical float32 arithmetic of the fixed-order contract, mirrored operation for operation
// by shaders/fixed_arith.glsl. Built with -ffp-contract=off: `a * b + c` here is two roundings.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

#include "numerics/contract.hpp"

namespace lockstep {

// A denormal becomes a zero of the same sign; everything else passes through.
inline float flush_denormal(float v) {
  const uint32_t b = std::bit_cast<uint32_t>(v);
  return (b & 0x7f800000u) == 0u ? std::bit_cast<float>(b & 0x80000000u) : v;
}

struct FixedArith {
  bool fused = false;  // MacContract::Fma
  bool ftz = false;    // DenormRule::Ftz

  static FixedArith of(const NumericMode& m) {
    return FixedArith{m.mac == MacContract::Fma, m.denorm == DenormRule::Ftz};
  }
  float flush(float v) const { return ftz ? flush_denormal(v) : v; }
  float add(float a, float b) const { return flush(a + b); }
  float sub(float a, float b) const { return flush(a - b); }
  float mul(float a, float b) const { return flush(a * b); }
  // acc + a*b under the MAC contract.
  float mac(float acc, float a, float b) const {
    if (fused) return flush(std::fma(a, b, acc));
    return flush(acc + flush(a * b));
  }
  // x > 0 ? x : +0 — defined for NaN (-> 0) and -0 (-> +0).
  static float relu(float x) { return x > 0.0f ? x : 0.0f; }
};

// Software exp from exact operations only (add, sub, mul, floor, integer bit work): the same
// sequence in shaders/fixed_arith.glsl. About 1 ULP for normal results.
float soft_exp(float x, const FixedArith& ar);
// Software 1/s for s in [2^-125, 2^125] from a bit-trick seed and four Newton steps
// r <- r * (2 - s*r), each step exact operations. About 1 ULP.
float soft_reciprocal(float s, const FixedArith& ar);

// a / s given inv ~ 1/s (soft_reciprocal): q = a*inv, then one correction with the exact
// residual a - q*s from Dekker's two-product (Veltkamp splitting, exact operations only), so the
// quotient is nearly always correctly rounded. Mirrored by ls_divide in shaders/soft_math.glsl.
float soft_divide(float a, float s, float inv, const FixedArith& ar);

// 1/n rounded once from double: the host-side reciprocals of constants (pool divisors).
inline float host_reciprocal(uint32_t n) { return static_cast<float>(1.0 / static_cast<double>(n)); }

// Distance in units in the last place between two floats (0 for +0 vs -0; NaN gives UINT64_MAX).
uint64_t ulp_distance(float a, float b);

}  // namespace lockstep
