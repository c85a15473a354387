// Dense on the device: split-K fixed order bit for bit with the reference (trees narrower
// than the subgroup, one slice, long K, denormal sums), weights split across bindings, every
// kernel variant (rows per group, lanes per group, texel and storage reads, rows that are and
// are not whole vec4s, empty trailing slices, batches).
#include <bit>
#include <cmath>

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

TEST(Dense, EveryVariantAndShapeBitExact) {
  // plan_dense_reduction: K 4 (one vec4, 4 slices of 4, three empty), 45 (not whole vec4s:
  // storage reads; 8 slices of 8, the last two empty), 100 (8 slices of 16, the last empty),
  // 4096 (128 slices of 32), 1234 (64 slices of 20, unaligned, the last two empty); batches of
  // 1 to 3; out not a multiple of the rows per group.
  const auto& t = device().traits();
  const uint32_t sg = std::max<uint32_t>(1, t.min_subgroup_size ? t.min_subgroup_size : t.subgroup_size);
  struct Variant {
    uint32_t rows, lanes;
    bool texel;
  };
  std::vector<Variant> variants{{0, 0, true}, {1, 1, false}, {3, 2, true}, {4, 4, false}};
  if (sg >= 8) variants.push_back({2, 8, true});
  size_t ran = 0;
  for (const DenseShape& s : {DenseShape{1, 4, 3, true, false}, DenseShape{3, 45, 7, true, true},
                              DenseShape{1, 100, 9, false, false}, DenseShape{2, 4096, 11, true, false},
                              DenseShape{3, 1234, 5, true, true}}) {
    std::vector<float> x(s.input_elements()), w(s.weight_elements()), b(s.out);
    for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i * 7919 % 201) - 100) / 37.0f;
    for (size_t i = 0; i < w.size(); ++i) w[i] = float(int(i * 104729 % 101) - 50) / 91.0f;
    for (size_t i = 0; i < b.size(); ++i) b[i] = 0.01f * float(int(i % 7) - 3);
    for (const Variant& v : variants) {
      ops::DenseOptions o;
      o.rows = v.rows, o.lanes = v.lanes, o.allow_texel = v.texel;
      for (Order order : {Order::Fixed, Order::Free}) {
        const NumericMode m{order, MacContract::MulAdd, DenormRule::Preserve};
        ops::Dense op(device(), s, m, o);
        const auto wb = ops::upload_dense_weights(device(), s, w);
        Buffer xb = device().upload_new<float>(x), bb = device().upload_new<float>(b);
        Buffer yb = device().create_buffer(s.output_elements() * 4);
        Sequence seq(device());
        op.record(seq, xb, wb, bb, yb);
        seq.submit();
        const auto y = device().download_all<float>(yb, s.output_elements());
        if (order == Order::Fixed) {
          const auto r = ref::dense_fixed(s, x, w, b, m);
          EXPECT_EQ(0, std::memcmp(y.data(), r.data(), r.size() * 4)) << op.describe() << " in " << s.in;
          ++ran;
        } else {
          const auto r = ref::dense_oracle(s, ref::widen(x), w, b);
          double num = 0, den = 0;
          for (size_t i = 0; i < r.size(); ++i) num += (y[i] - r[i]) * (y[i] - r[i]), den += r[i] * r[i];
          // 1e-5, not the suite's 2e-6: with 1 or 2 lanes a free-order chain is up to 8x longer
          // than with the device's choice.
          EXPECT_LE(std::sqrt(num / std::max(den, 1e-300)), 1e-5) << op.describe() << " in " << s.in;
        }
      }
    }
  }
  EXPECT_GE(ran, 20u);
  EXPECT_THROW(ops::Dense(device(), DenseShape{1, 8, 2, false, false}, NumericMode{}, ops::DenseOptions{1, 3, true}),
               std::invalid_argument);
}

}  // namespace lockstep::test
