// The fixed-order contract's arithmetic, operation for operation the same as
// engine/numerics/fixed_arith.hpp. Every result is `precise` (SPIR-V NoContraction):
// no contraction, no reassociation. Specialization constants 0 and 1 pick the contract.
#if defined(LS_RTE) || defined(LS_DENORM_PRESERVE)
#extension GL_EXT_spirv_intrinsics : require
#endif
#ifdef LS_RTE
spirv_execution_mode(capabilities = [4467], 4462, 32);  // RoundingModeRTE for fp32
#endif
#ifdef LS_DENORM_PRESERVE
spirv_execution_mode(capabilities = [4464], 4459, 32);  // DenormPreserve for fp32
#endif

layout(constant_id = 0) const bool LS_MAC_FMA = false;  // MacContract::Fma
layout(constant_id = 1) const bool LS_FTZ = false;      // DenormRule::Ftz, emulated

// A denormal becomes a zero of the same sign (bit operations are exact everywhere).
float ls_flush(float v) {
  if (!LS_FTZ) return v;
  uint b = floatBitsToUint(v);
  return ((b & 0x7f800000u) == 0u) ? uintBitsToFloat(b & 0x80000000u) : v;
}
float ls_add(float a, float b) { precise float r = a + b; return ls_flush(r); }
float ls_sub(float a, float b) { precise float r = a - b; return ls_flush(r); }
float ls_mul(float a, float b) { precise float r = a * b; return ls_flush(r); }
float ls_mac(float acc, float a, float b) {
  if (LS_MAC_FMA) {
    precise float f = fma(a, b, acc);
    return ls_flush(f);
  }
  precise float p = a * b;
  float pf = ls_flush(p);
  precise float r = acc + pf;
  return ls_flush(r);
}
float ls_relu(float x) { return x > 0.0 ? x : 0.0; }
