// Max and average pooling on the device, fixed bit for bit with the reference; average pool
// with and without counting the padding, checked by hand on a small case.
#include <limits>

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

TEST(MaxPool, RowKernelEqualsTheOneOutputKernel) {
  // max_pool_rows against pool2d.comp (itself checked against the reference above): 2x2 s2,
  // 3x3 s2 p1 (ResNet), asymmetric padding, odd widths (partial tiles, unaligned rows), NaN,
  // -0 and +0 ties, batches.
  std::vector<Pool2dShape> shapes;
  auto add = [&](uint32_t n, uint32_t c, uint32_t h, uint32_t w, uint32_t k, uint32_t st, uint32_t pt, uint32_t pl,
                 uint32_t pb, uint32_t pr) {
    Pool2dShape s;
    s.kind = PoolKind::Max, s.n = n, s.c = c, s.h = h, s.w = w, s.kh = s.kw = k, s.stride_h = s.stride_w = st;
    s.pad_top = pt, s.pad_left = pl, s.pad_bottom = pb, s.pad_right = pr;
    shapes.push_back(s);
  };
  add(1, 3, 8, 8, 2, 2, 0, 0, 0, 0);
  add(2, 3, 13, 11, 3, 2, 1, 1, 1, 1);
  add(1, 2, 9, 14, 3, 1, 0, 2, 1, 0);
  add(1, 5, 7, 7, 2, 2, 0, 0, 1, 1);
  for (const Pool2dShape& s : shapes) {
    std::vector<float> x(s.input_elements());
    for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i * 7919 % 23) - 11) * 0.5f;
    for (size_t i = 0; i < x.size(); i += 17) x[i] = std::numeric_limits<float>::quiet_NaN();
    for (size_t i = 5; i < x.size(); i += 13) x[i] = -0.0f;
    for (size_t i = 6; i < x.size(); i += 13) x[i] = 0.0f;
    std::vector<float> rows, single;
    for (bool allow_rows : {true, false}) {
      ops::Pool2d op(device(), s, NumericMode{}, allow_rows);
      Buffer xb = device().upload_new<float>(x), yb = device().create_buffer(s.output_elements() * 4);
      Sequence seq(device());
      op.record(seq, xb, yb);
      seq.submit();
      (allow_rows ? rows : single) = device().download_all<float>(yb, s.output_elements());
    }
    EXPECT_EQ(0, std::memcmp(rows.data(), single.data(), rows.size() * 4)) << s.h << "x" << s.w << " k" << s.kh;
  }
}

}  // namespace lockstep::test
