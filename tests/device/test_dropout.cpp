// Dropout on the device: identity at inference; with a seed, the Philox mask is the
// reference's, changes with the seed, and keeps 1-p of the elements.
#include "device/harness.hpp"
#include "numerics/philox.hpp"
#include "ops/dropout.hpp"
#include "reference/reference.hpp"
#include "vk/sequence.hpp"

namespace lockstep::test {

TEST(Dropout, FixedOrderEqualsReferenceBitForBit) { expect_fixed_bit_exact("dropout"); }
TEST(Dropout, FreeOrderWithinTolerance) { expect_accuracy("dropout", 1e-7); }

std::vector<float> run_dropout(const DropoutShape& s, const std::vector<float>& x) {
  ops::Dropout op(device(), s, NumericMode{});
  Buffer xb = device().upload_new<float>(x), yb = device().create_buffer(x.size() * 4);
  Sequence seq(device());
  op.record(seq, xb, yb);
  seq.submit();
  return device().download_all<float>(yb, x.size());
}

TEST(Dropout, KeepRateOverAMillionElementsAndSeedDependence) {
  const uint64_t n = 1000000;
  const std::vector<float> x(n, 1.0f);
  for (double p : {0.5, 0.1}) {
    const DropoutShape s{n, p, true, 1234, 7};
    const auto y = run_dropout(s, x);
    uint64_t kept = 0;
    for (float v : y) kept += v != 0.0f;
    const double rate = double(kept) / double(n);
    EXPECT_NEAR(rate, 1.0 - p, 0.005 * (1.0 - p)) << "p = " << p;
    for (float v : y) ASSERT_TRUE(v == 0.0f || v == dropout_scale(p));
    const auto ref = ref::dropout_fixed(s, x, NumericMode{});
    EXPECT_EQ(0, std::memcmp(y.data(), ref.data(), n * 4)) << "device mask differs from the reference's";
    const auto other_seed = run_dropout({n, p, true, 1235, 7}, x);
    const auto other_layer = run_dropout({n, p, true, 1234, 8}, x);
    EXPECT_NE(0, std::memcmp(y.data(), other_seed.data(), n * 4)) << "a different seed gave the same mask";
    EXPECT_NE(0, std::memcmp(y.data(), other_layer.data(), n * 4)) << "a different layer gave the same mask";
  }
}

TEST(Dropout, InferenceIsIdentity) {
  std::vector<float> x(1001);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i) - 500.5f;
  const auto y = run_dropout({x.size(), 0.5, false, 1, 1}, x);
  EXPECT_EQ(0, std::memcmp(y.data(), x.data(), x.size() * 4));
}

}  // namespace lockstep::test
