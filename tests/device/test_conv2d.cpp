// Conv2d on the device: fixed order bit for bit with the CPU reference (1x1, 3x3, 7x7, 5x3;
// strides 1 and 2; symmetric and asymmetric padding; bias; ReLU; denormal sums), free order
// against the float64 oracle, and a case small enough to check by hand.
#include <bit>

#include "device/harness.hpp"
#include "ops/conv2d.hpp"
#include "reference/reference.hpp"
#include "vk/sequence.hpp"

namespace lockstep::test {

TEST(Conv2d, FixedOrderEqualsReferenceBitForBit) { expect_fixed_bit_exact("conv2d"); }

TEST(Conv2d, FreeOrderWithinToleranceAndFixedNoWorse) { expect_accuracy("conv2d", 2e-6); }

TEST(Conv2d, FtzDiffersFromPreserveWhereSumsPassThroughDenormals) {
  // Proves the denormal cases really exercise denormals: the two rules give different bits.
  std::string preserve, ftz;
  for (const auto& r : suite_runs("conv2d")) {
    if (r.case_name != "3x3_denormal_sums" || !r.mode.fixed() || r.refused || r.mode.mac != MacContract::MulAdd) continue;
    (r.mode.denorm == DenormRule::Ftz ? ftz : preserve) = r.hash;
  }
  ASSERT_FALSE(preserve.empty());
  ASSERT_FALSE(ftz.empty());
  EXPECT_NE(preserve, ftz);
}

TEST(Conv2d, HandComputedTwoByTwo) {
  // x = [[1,2],[3,4]] (one channel), w = 3x3 of ones, pad 1, bias 0.5: each output is the sum of
  // its neighbourhood + 0.5 — every input contributes to every output here: 10.5.
  Conv2dShape s;
  s.c_in = 1, s.h = 2, s.w = 2, s.c_out = 1, s.kh = 3, s.kw = 3;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
  const std::vector<float> x{1, 2, 3, 4}, w(9, 1.0f), b{0.5f};
  for (Order order : {Order::Fixed, Order::Free}) {
    const NumericMode m{order, MacContract::MulAdd, DenormRule::Preserve};
    ops::Conv2d op(device(), s, m);
    Buffer xb = device().upload_new<float>(x), wb = device().upload_new<float>(w), bb = device().upload_new<float>(b);
    Buffer yb = device().create_buffer(4 * 4);
    Sequence seq(device());
    op.record(seq, xb, wb, bb, yb);
    seq.submit();
    const auto y = device().download_all<float>(yb, 4);
    for (float v : y) EXPECT_EQ(v, 10.5f) << describe(m);
  }
}

TEST(Conv2d, FixedOrderIndependentOfDispatchRepetition) {
  // The same recorded sequence submitted twice gives the same bits (no state leaks between runs).
  Conv2dShape s;
  s.c_in = 37, s.h = 13, s.w = 13, s.c_out = 5, s.kh = 3, s.kw = 3, s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
  std::vector<float> x(s.input_elements()), w(s.weight_elements()), b(s.c_out, 0.1f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i * 7919 % 201) - 100) / 37.0f;
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(int(i * 104729 % 101) - 50) / 91.0f;
  const NumericMode m{};
  ops::Conv2d op(device(), s, m);
  Buffer xb = device().upload_new<float>(x), wb = device().upload_new<float>(w), bb = device().upload_new<float>(b);
  Buffer yb = device().create_buffer(s.output_elements() * 4);
  Sequence seq(device());
  op.record(seq, xb, wb, bb, yb);
  seq.submit();
  const auto first = device().download_all<float>(yb, s.output_elements());
  device().fill_zero(yb);
  seq.submit();
  const auto second = device().download_all<float>(yb, s.output_elements());
  const auto ref = ref::conv2d_fixed(s, x, w, b, m);
  EXPECT_EQ(0, std::memcmp(first.data(), ref.data(), ref.size() * 4));
  EXPECT_EQ(0, std::memcmp(second.data(), ref.data(), ref.size() * 4));
}

}  // namespace lockstep::test
