// Dense on the device: split-K fixed order bit for bit with the reference (trees narrower
// than the subgroup, one slice, long K, denormal sums), weights split across bindings.
#include "device/harness.hpp"
#include "ops/dense.hpp"
#include "reference/reference.hpp"
#include "vk/sequence.hpp"

namespace lockstep::test {

TEST(Dense, FixedOrderEqualsReferenceBitForBit) { expect_fixed_bit_exact("dense"); }

TEST(Dense, FreeOrderWithinToleranceAndFixedNoWorse) { expect_accuracy("dense", 2e-6); }

TEST(Dense, WeightsBeyondTheBindingRangeAreSplitIntoChunks) {
  const DenseShape s{2, 300, 50, true, true};
  std::vector<float> x(s.input_elements()), w(s.weight_elements()), b(s.out);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i % 17) - 8) * 0.125f;
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(int(i * 31 % 23) - 11) * 0.01f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = float(i) * 0.001f;
  Device& d = device();
  const uint64_t saved = d.max_binding_bytes();
  d.set_max_binding_bytes(16 * 300 * 4);  // 16 rows per binding
  const ops::DenseWeights wb = ops::upload_dense_weights(d, s, w);
  d.set_max_binding_bytes(saved);
  ASSERT_EQ(wb.chunks.size(), 4u);  // 16 + 16 + 16 + 2 rows
  EXPECT_EQ(wb.rows_per_chunk, 16u);
  const NumericMode m{};
  ops::Dense op(d, s, m);
  Buffer xb = d.upload_new<float>(x), bb = d.upload_new<float>(b), yb = d.create_buffer(s.output_elements() * 4);
  Sequence seq(d);
  op.record(seq, xb, wb, bb, yb);
  seq.submit();
  const auto y = d.download_all<float>(yb, s.output_elements());
  const auto ref = ref::dense_fixed(s, x, w, b, m);
  EXPECT_EQ(0, std::memcmp(y.data(), ref.data(), ref.size() * 4));
}

TEST(Dense, ExactSmallIntegersGiveExactResults) {
  // Small integers: every order gives the exact answer, which the test knows independently.
  const DenseShape s{1, 4, 2, true, false};
  const std::vector<float> x{1, 2, 3, 4}, w{1, 1, 1, 1, 1, -1, 1, -1}, b{0.5f, -0.5f};
  for (Order order : {Order::Fixed, Order::Free}) {
    const NumericMode m{order, MacContract::MulAdd, DenormRule::Preserve};
    ops::Dense op(device(), s, m);
    const auto wb = ops::upload_dense_weights(device(), s, w);
    Buffer xb = device().upload_new<float>(x), bb = device().upload_new<float>(b), yb = device().create_buffer(8);
    Sequence seq(device());
    op.record(seq, xb, wb, bb, yb);
    seq.submit();
    const auto y = device().download_all<float>(yb, 2);
    EXPECT_EQ(y[0], 10.5f) << describe(m);
    EXPECT_EQ(y[1], -2.5f) << describe(m);
  }
}

}  // namespace lockstep::test
