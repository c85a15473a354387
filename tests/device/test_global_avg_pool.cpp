// Global average pool on the device: the canonical sum across a subgroup lane group.
#include "device/harness.hpp"
#include "ops/global_avg_pool.hpp"
#include "vk/sequence.hpp"

namespace lockstep::test {

TEST(GlobalAvgPool, FixedOrderEqualsReferenceBitForBit) { expect_fixed_bit_exact("global_average_pool"); }
TEST(GlobalAvgPool, FreeOrderWithinToleranceAndFixedNoWorse) { expect_accuracy("global_average_pool", 2e-6); }

TEST(GlobalAvgPool, MeanOfKnownValues) {
  // 3 planes of 7x7 = 49 values 0..48: mean 24, exactly representable in every order.
  const GlobalAvgPoolShape s{1, 3, 7, 7};
  std::vector<float> x(s.input_elements());
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 49);
  for (Order order : {Order::Fixed, Order::Free}) {
    ops::GlobalAvgPool op(device(), s, NumericMode{order});
    Buffer xb = device().upload_new<float>(x), yb = device().create_buffer(3 * 4);
    Sequence seq(device());
    op.record(seq, xb, yb);
    seq.submit();
    for (float v : device().download_all<float>(yb, 3)) EXPECT_NEAR(v, 24.0f, 24.0f * 1e-6f);
  }
}

}  // namespace lockstep::test
