// Max and average pooling on the device, fixed bit for bit with the reference; average pool
// with and without counting the padding, checked by hand on a small case.
#include "device/harness.hpp"
#include "ops/pool2d.hpp"
#include "vk/sequence.hpp"

namespace lockstep::test {

TEST(MaxPool, FixedOrderEqualsReferenceBitForBit) { expect_fixed_bit_exact("max_pool"); }
TEST(MaxPool, FreeOrderWithinTolerance) { expect_accuracy("max_pool", 0.0); }
TEST(AveragePool, FixedOrderEqualsReferenceBitForBit) { expect_fixed_bit_exact("average_pool"); }
TEST(AveragePool, FreeOrderWithinToleranceAndFixedNoWorse) { expect_accuracy("average_pool", 2e-7); }

std::vector<float> run_pool(const Pool2dShape& s, const std::vector<float>& x) {
  ops::Pool2d op(device(), s, NumericMode{});
  Buffer xb = device().upload_new<float>(x), yb = device().create_buffer(s.output_elements() * 4);
  Sequence seq(device());
  op.record(seq, xb, yb);
  seq.submit();
  return device().download_all<float>(yb, s.output_elements());
}

TEST(AveragePool, CountIncludePadChangesTheCornerDivisor) {
  // 2x2 input of 4s, 3x3 window, pad 1: each output window holds 4 valid taps of 9.
  Pool2dShape s;
  s.kind = PoolKind::Average, s.c = 1, s.h = 2, s.w = 2, s.kh = 3, s.kw = 3;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
  const std::vector<float> x(4, 4.0f);
  for (float v : run_pool(s, x)) EXPECT_EQ(v, 4.0f);  // 16 / 4
  s.count_include_pad = true;
  for (float v : run_pool(s, x)) EXPECT_EQ(v, 16.0f * static_cast<float>(1.0 / 9.0));
}

TEST(MaxPool, PaddingIsNeverTheMaximum) {
  // All inputs negative: padded taps must not contribute a 0.
  Pool2dShape s;
  s.kind = PoolKind::Max, s.c = 1, s.h = 2, s.w = 2, s.kh = 3, s.kw = 3;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
  for (float v : run_pool(s, {-4, -3, -2, -1})) EXPECT_EQ(v, -1.0f);
}

}  // namespace lockstep::test
