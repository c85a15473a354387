// The CPU reference itself: hand-computed values, agreement with the float64 oracle, and
// the canonical order really being the documented one.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>

#include "numerics/canonical_sum.hpp"
#include "reference/reference.hpp"

namespace lockstep {

TEST(Reference, Conv2dStrideAndAsymmetricPaddingByHand) {
  // 1 channel 3x3 input 1..9, 2x2 kernel of ones, stride 2, pad bottom/right 1:
  // windows (0,0): 1+2+4+5 = 12; (0,2): 3+6 = 9; (2,0): 7+8 = 15; (2,2): 9.
  Conv2dShape s;
  s.c_in = 1, s.h = 3, s.w = 3, s.c_out = 1, s.kh = 2, s.kw = 2, s.stride_h = s.stride_w = 2;
  s.pad_bottom = s.pad_right = 1, s.bias = false;
  const std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8, 9}, w{1, 1, 1, 1};
  EXPECT_EQ(ref::conv2d_fixed(s, x, w, {}, NumericMode{}), (std::vector<float>{12, 9, 15, 9}));
  EXPECT_EQ(ref::conv2d_oracle(s, ref::widen(x), w, {}), (std::vector<double>{12, 9, 15, 9}));
}

TEST(Reference, DenseFollowsTheBlockedOrder) {
  // 64 inputs -> 8 slices of 8. Put 2^24 in slice 0 and ones elsewhere: a plain sequential
  // sum loses every 1 (2^24 + 1 rounds back), the blocked order keeps the other slices' sums.
  const DenseShape s{1, 64, 1, false, false};
  std::vector<float> x(64, 1.0f), w(64, 1.0f);
  x[0] = 16777216.0f;
  const float y = ref::dense_fixed(s, x, w, {}, NumericMode{})[0];
  float sequential = 0.0f;
  for (float v : x) sequential += v;
  EXPECT_EQ(sequential, 16777216.0f);
  EXPECT_EQ(y, 16777216.0f + 56.0f);  // slices 1..7 sum to 8 each, joined exactly; slice 0 loses its 7
}

TEST(Reference, FixedAgreesWithOracle) {
  const DenseShape s{2, 1000, 7, true, false};
  std::vector<float> x(s.input_elements()), w(s.weight_elements()), b(s.out, 0.25f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(float(i));
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::cos(float(i) * 0.37f);
  const auto y = ref::dense_fixed(s, x, w, b, NumericMode{});
  const auto o = ref::dense_oracle(s, ref::widen(x), w, b);
  for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], o[i], 1e-4 + 1e-5 * std::fabs(o[i]));
}

TEST(Reference, SoftmaxAndPools) {
  const SoftmaxShape sm{1, 3};
  const auto y = ref::softmax_fixed(sm, std::vector<float>{0.0f, std::log(2.0f), std::log(5.0f)}, NumericMode{});
  EXPECT_NEAR(y[0], 0.125f, 1e-7);
  EXPECT_NEAR(y[1], 0.25f, 1e-7);
  EXPECT_NEAR(y[2], 0.625f, 1e-7);
  const GlobalAvgPoolShape g{1, 1, 2, 2};
  EXPECT_EQ(ref::global_avg_pool_fixed(g, std::vector<float>{1, 2, 3, 6}, NumericMode{})[0], 3.0f);
}

TEST(Reference, FtzModeFlushesIntermediateResults) {
  const DenseShape s{1, 2, 1, false, false};
  const std::vector<float> x{1e-20f, 1e-20f}, w{1e-19f, 1e-19f};  // products 1e-39: denormal
  const NumericMode preserve{}, ftz{Order::Fixed, MacContract::MulAdd, DenormRule::Ftz};
  EXPECT_GT(ref::dense_fixed(s, x, w, {}, preserve)[0], 0.0f);
  EXPECT_EQ(ref::dense_fixed(s, x, w, {}, ftz)[0], 0.0f);
}

}  // namespace lockstep
