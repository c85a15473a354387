#include "numerics/fixed_arith.hpp"

#include <limits>

namespace lockstep {

namespace {
// exp(x) = 2^n * p(r), r = x - n*ln2 (Cody-Waite split), p a degree-7 polynomial (cephes expf).
// Bit patterns, so that shaders/soft_math.glsl holds exactly the same constants.
constexpr float kLog2e = std::bit_cast<float>(0x3fb8aa3bu);   // 1.44269504
constexpr float kLn2Hi = std::bit_cast<float>(0x3f318000u);   // 0.693359375: n*kLn2Hi exact for |n| < 2^15
constexpr float kLn2Lo = std::bit_cast<float>(0xb95e8083u);   // -2.12194440e-4
constexpr float kExpMax = std::bit_cast<float>(0x42b17218u);  // 88.7228394: above, +inf
constexpr float kExpMin = std::bit_cast<float>(0xc2cff1b5u);  // -103.972084: below, +0
constexpr float kP0 = std::bit_cast<float>(0x39506967u), kP1 = std::bit_cast<float>(0x3ab743ceu),
                kP2 = std::bit_cast<float>(0x3c088908u), kP3 = std::bit_cast<float>(0x3d2aa9c1u),
                kP4 = std::bit_cast<float>(0x3e2aaaaau), kP5 = std::bit_cast<float>(0x3f000000u);

float pow2i(int n) {  // 2^n for n in [-126, 127], built from bits
  return std::bit_cast<float>(static_cast<uint32_t>(n + 127) << 23);
}
}  // namespace

float soft_exp(float x, const FixedArith& ar) {
  if (x != x) return x;
  if (x > kExpMax) return std::numeric_limits<float>::infinity();
  if (x < kExpMin) return 0.0f;
  const float nf = std::floor(ar.add(ar.mul(x, kLog2e), 0.5f));
  const int n = static_cast<int>(nf);
  const float r = ar.sub(ar.sub(x, ar.mul(nf, kLn2Hi)), ar.mul(nf, kLn2Lo));
  float p = kP0;
  p = ar.add(ar.mul(p, r), kP1);
  p = ar.add(ar.mul(p, r), kP2);
  p = ar.add(ar.mul(p, r), kP3);
  p = ar.add(ar.mul(p, r), kP4);
  p = ar.add(ar.mul(p, r), kP5);
  p = ar.add(ar.add(ar.mul(p, ar.mul(r, r)), r), 1.0f);
  // Two power-of-two factors keep each within the normal range for n in [-150, 128].
  const int n1 = n >> 1;  // floor(n/2), as in the shader
  const int n2 = n - n1;
  return ar.mul(ar.mul(p, pow2i(n1)), pow2i(n2));
}

float soft_reciprocal(float s, const FixedArith& ar) {
  float r = std::bit_cast<float>(0x7EF311C3u - std::bit_cast<uint32_t>(s));
  for (int i = 0; i < 4; ++i) r = ar.mul(r, ar.sub(2.0f, ar.mul(s, r)));
  return r;
}

namespace {
// Veltkamp split: a = hi + lo exactly, each half with at most 12 significant bits.
void split(float a, float& hi, float& lo, const FixedArith& ar) {
  const float c = ar.mul(4097.0f, a);
  hi = ar.sub(c, ar.sub(c, a));
  lo = ar.sub(a, hi);
}
}  // namespace

float soft_divide(float a, float s, float inv, const FixedArith& ar) {
  const float q = ar.mul(a, inv);
  const float p = ar.mul(q, s);
  float qh, ql, sh, sl;
  split(q, qh, ql, ar);
  split(s, sh, sl, ar);
  // p + err == q * s exactly (Dekker).
  const float err = ar.add(ar.add(ar.add(ar.sub(ar.mul(qh, sh), p), ar.mul(qh, sl)), ar.mul(ql, sh)), ar.mul(ql, sl));
  const float residual = ar.sub(ar.sub(a, p), err);
  return ar.add(q, ar.mul(residual, inv));
}

uint64_t ulp_distance(float a, float b) {
  if (a != a || b != b) return std::numeric_limits<uint64_t>::max();
  auto key = [](float v) -> int64_t {
    const int32_t i = std::bit_cast<int32_t>(v);
    return i < 0 ? -static_cast<int64_t>(i & 0x7fffffff) : static_cast<int64_t>(i);
  };
  const int64_t d = key(a) - key(b);
  return static_cast<uint64_t>(d < 0 ? -d : d);
}

}  // namespace lockstep
