// The contract's arithmetic: flushing, the MAC contracts, software exp/reciprocal/divide.
#include <gtest/gtest.h>

#include <bit>
#include <cfloat>
#include <cmath>
#include <random>

#include "numerics/fixed_arith.hpp"

namespace lockstep {

TEST(FixedArith, FlushKeepsTheSign) {
  EXPECT_EQ(std::bit_cast<uint32_t>(flush_denormal(1e-40f)), 0u);
  EXPECT_EQ(std::bit_cast<uint32_t>(flush_denormal(-1e-40f)), 0x80000000u);
  EXPECT_EQ(flush_denormal(FLT_MIN), FLT_MIN);
  EXPECT_EQ(flush_denormal(-3.5f), -3.5f);
  EXPECT_TRUE(std::isinf(flush_denormal(INFINITY)));
}

TEST(FixedArith, MulAddRoundsTwiceFmaOnce) {
  // a*b = 1 + 2^-11 + 2^-24 exactly, a tie that rounds to 1 + 2^-11.
  const float a = 1.0f + 0x1p-12f, b = 1.0f + 0x1p-12f, c = -(1.0f + 0x1p-11f);
  const FixedArith muladd{false, false}, fused{true, false};
  EXPECT_EQ(muladd.mac(c, a, b), 0.0f);
  EXPECT_EQ(fused.mac(c, a, b), 0x1p-24f);
}

TEST(FixedArith, FtzFlushesEveryResult) {
  const FixedArith ftz{false, true};
  EXPECT_EQ(ftz.mul(FLT_MIN, 0.5f), 0.0f);
  EXPECT_EQ(ftz.add(1.5f * FLT_MIN, -FLT_MIN), 0.0f);
  EXPECT_EQ(FixedArith{}.mul(FLT_MIN, 0.5f), FLT_MIN * 0.5f);
}

TEST(SoftExp, WithinTwoUlpOfTheTrueValue) {
  const FixedArith ar{};
  uint64_t worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
    const float want = static_cast<float>(std::exp(static_cast<double>(x)));
    worst = std::max(worst, ulp_distance(soft_exp(x, ar), want));
  }
  EXPECT_LE(worst, 2u);
  EXPECT_EQ(soft_exp(0.0f, ar), 1.0f);
  EXPECT_EQ(soft_exp(-200.0f, ar), 0.0f);
  EXPECT_TRUE(std::isinf(soft_exp(100.0f, ar)));
  EXPECT_TRUE(std::isnan(soft_exp(NAN, ar)));
  EXPECT_EQ(soft_exp(-INFINITY, ar), 0.0f);
}

TEST(SoftReciprocalAndDivide, NearlyCorrectlyRounded) {
  const FixedArith ar{};
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(1.0f, 4096.0f);
  uint64_t worst_recip = 0, worst_div = 0, exact_div = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const float s = u(rng), a = u(rng) / 4096.0f;
    const float inv = soft_reciprocal(s, ar);
    worst_recip = std::max(worst_recip, ulp_distance(inv, static_cast<float>(1.0 / double(s))));
    const float q = soft_divide(a, s, inv, ar);
    const float want = static_cast<float>(double(a) / double(s));
    worst_div = std::max(worst_div, ulp_distance(q, want));
    exact_div += q == want;
  }
  EXPECT_LE(worst_recip, 2u);
  EXPECT_LE(worst_div, 1u);
  EXPECT_GT(exact_div, n * 99 / 100);  // correctly rounded almost always
}

TEST(UlpDistance, Basics) {
  EXPECT_EQ(ulp_distance(1.0f, std::nextafter(1.0f, 2.0f)), 1u);
  EXPECT_EQ(ulp_distance(0.0f, -0.0f), 0u);
  EXPECT_EQ(ulp_distance(-FLT_TRUE_MIN, FLT_TRUE_MIN), 2u);
  EXPECT_EQ(ulp_distance(NAN, 1.0f), UINT64_MAX);
}

}  // namespace lockstep
