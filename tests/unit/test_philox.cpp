// Philox4x32-10 against the Random123 known-answer vectors (tests/kat_vectors), and the
// dropout mask built on it.
#include <gtest/gtest.h>

#include "numerics/philox.hpp"

namespace lockstep {

TEST(Philox, Random123KnownAnswers) {
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}), (PhiloxCounter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
            (PhiloxCounter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Dropout, ThresholdAndScale) {
  EXPECT_EQ(dropout_threshold(0.0), 0u);
  EXPECT_EQ(dropout_threshold(0.5), 0x80000000u);
  EXPECT_EQ(dropout_threshold(0.9999999999999), 0xFFFFFFFFu);
  EXPECT_EQ(dropout_scale(0.5), 2.0f);
  EXPECT_EQ(dropout_scale(0.0), 1.0f);
}

TEST(Dropout, KeepRateOnTheHost) {
  const uint32_t t = dropout_threshold(0.3);
  uint64_t kept = 0;
  const uint64_t n = 1000000;
  for (uint64_t i = 0; i < n; ++i) kept += dropout_keep(99, 2, i, t);
  EXPECT_NEAR(double(kept) / n, 0.7, 0.005 * 0.7);
}

}  // namespace lockstep
