// Residual add (with fused ReLU) and ReLU on the device.
#include <bit>
#include <cmath>

#include "device/harness.hpp"
#include "ops/eltwise.hpp"
#include "vk/sequence.hpp"

namespace lockstep::test {

TEST(Add, FixedOrderEqualsReferenceBitForBit) { expect_fixed_bit_exact("add"); }
TEST(Add, FreeOrderWithinTolerance) { expect_accuracy("add", 1e-7); }
TEST(Relu, FixedOrderEqualsReferenceBitForBit) { expect_fixed_bit_exact("relu"); }

TEST(Relu, NegativeZeroAndNaNBecomePositiveZero) {
  const std::vector<float> x{-0.0f, std::nanf(""), -1.0f, 2.0f, INFINITY, -INFINITY};
  ops::Eltwise op(device(), ops::Eltwise::Kind::Relu, {x.size(), false}, NumericMode{});
  Buffer xb = device().upload_new<float>(x), yb = device().create_buffer(x.size() * 4);
  Sequence seq(device());
  op.record(seq, xb, xb, yb);
  seq.submit();
  const auto y = device().download_all<float>(yb, x.size());
  EXPECT_EQ(std::bit_cast<uint32_t>(y[0]), 0u);
  EXPECT_EQ(std::bit_cast<uint32_t>(y[1]), 0u);
  EXPECT_EQ(std::bit_cast<uint32_t>(y[2]), 0u);
  EXPECT_EQ(y[3], 2.0f);
  EXPECT_EQ(y[4], INFINITY);
  EXPECT_EQ(std::bit_cast<uint32_t>(y[5]), 0u);
}

}  // namespace lockstep::test
