// Softmax on the device: software exp and reciprocal, bit for bit with the reference.
#include <numeric>

#include "device/harness.hpp"
#include "ops/softmax.hpp"
#include "vk/sequence.hpp"

namespace lockstep::test {

TEST(Softmax, FixedOrderEqualsReferenceBitForBit) { expect_fixed_bit_exact("softmax"); }
TEST(Softmax, FreeOrderWithinToleranceAndFixedNoWorse) { expect_accuracy("softmax", 1e-6); }

TEST(Softmax, RowsSumToOne) {
  const SoftmaxShape s{4, 1000};
  std::vector<float> x(s.elements());
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i * 7919 % 2001) - 1000) / 100.0f;
  for (Order order : {Order::Fixed, Order::Free}) {
    ops::Softmax op(device(), s, NumericMode{order});
    Buffer xb = device().upload_new<float>(x), yb = device().create_buffer(x.size() * 4);
    Sequence seq(device());
    op.record(seq, xb, yb);
    seq.submit();
    const auto y = device().download_all<float>(yb, x.size());
    for (uint32_t r = 0; r < s.rows; ++r) {
      const double sum = std::accumulate(y.begin() + r * s.cols, y.begin() + (r + 1) * s.cols, 0.0);
      EXPECT_NEAR(sum, 1.0, 1e-5) << describe(NumericMode{order}) << " row " << r;
    }
  }
}

}  // namespace lockstep::test
