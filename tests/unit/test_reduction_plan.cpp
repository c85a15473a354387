// The canonical plan: a pure function of the shape with the documented properties.
#include <gtest/gtest.h>

#include "numerics/canonical_sum.hpp"
#include "numerics/reduction_plan.hpp"

namespace lockstep {

TEST(ReductionPlan, SlicesArePowersOfTwoAndCoverEveryUnitOnce) {
  for (uint32_t unit_len : {1u, 9u, 49u, 2u}) {
    for (uint32_t units = 1; units < 3000; units += (units < 64 ? 1 : 37)) {
      const ReductionPlan p = plan_reduction(units, unit_len);
      ASSERT_EQ(p.slices & (p.slices - 1), 0u) << units;
      ASSERT_LE(p.slices, kMaxSlices);
      ASSERT_GE(p.slices, std::min(units, kMinSlices));
      uint32_t covered = 0;
      for (uint32_t s = 0; s < p.slices; ++s) {
        ASSERT_EQ(p.slice_begin(s), std::min(units, s * p.per_slice));
        covered += p.slice_end(s) - p.slice_begin(s);
        if (s + 1 < p.slices) {
          ASSERT_EQ(p.slice_end(s), p.slice_begin(s + 1));
        }
      }
      ASSERT_EQ(covered, units);
      ASSERT_EQ(1u << p.levels(), p.slices);
    }
  }
}

TEST(ReductionPlan, ConvPlansCoverEveryChannelOnce) {
  for (uint32_t taps : {1u, 9u, 25u, 49u}) {
    for (uint32_t c = 1; c < 3000; c += (c < 64 ? 1 : 37)) {
      const ReductionPlan p = plan_conv_reduction(c, taps);
      ASSERT_EQ(p.slices & (p.slices - 1), 0u);
      ASSERT_LE(p.slices, kMaxSlices);
      ASSERT_LE(uint64_t(p.per_slice) * taps, std::max<uint64_t>(kConvTargetSliceElements, taps) * 2);
      uint32_t covered = 0;
      for (uint32_t s = 0; s < p.slices; ++s) covered += p.slice_end(s) - p.slice_begin(s);
      ASSERT_EQ(covered, c);
    }
  }
}

TEST(ReductionPlan, DocumentedExamples) {
  // VGG19 fc6: 25088 inputs -> 1024 slices of 25; 3x3 conv over 512 channels -> 3 channels a slice.
  EXPECT_EQ(plan_reduction(25088).slices, 1024u);
  EXPECT_EQ(plan_reduction(25088).per_slice, 25u);
  EXPECT_EQ(plan_reduction(512, 9).slices, 256u);
  EXPECT_EQ(plan_reduction(512, 9).per_slice, 2u);
  // Convolutions (plan_conv_reduction): 512 products a slice, no minimum count. VGG/ResNet 3x3
  // over 512 channels: 16 slices of 32 channels; over 64: 2 slices of 32; the first layer's 3
  // channels: one slice; 1x1 over 2048: 4 slices of 512, over 512: one; ResNet's 7x7 over 3
  // channels: one.
  EXPECT_EQ(plan_conv_reduction(512, 9).slices, 16u);
  EXPECT_EQ(plan_conv_reduction(512, 9).per_slice, 32u);
  EXPECT_EQ(plan_conv_reduction(64, 9).slices, 2u);
  EXPECT_EQ(plan_conv_reduction(64, 9).per_slice, 32u);
  EXPECT_EQ(plan_conv_reduction(3, 9).slices, 1u);
  EXPECT_EQ(plan_conv_reduction(2048, 1).slices, 4u);
  EXPECT_EQ(plan_conv_reduction(2048, 1).per_slice, 512u);
  EXPECT_EQ(plan_conv_reduction(512, 1).slices, 1u);
  EXPECT_EQ(plan_conv_reduction(3, 49).slices, 1u);
  EXPECT_EQ(plan_reduction(45).slices, 8u);
  EXPECT_EQ(plan_reduction(3).slices, 4u);
  EXPECT_EQ(plan_reduction(1).slices, 1u);
  EXPECT_THROW(plan_reduction(0), std::invalid_argument);
}

TEST(CanonicalSum, TreeIsLowerPlusUpperPairwise) {
  // Values whose float sums depend on the grouping: the tree must be ((a+b)+(c+d)).
  const FixedArith ar{};
  std::vector<float> p{1e8f, 1.0f, -1e8f, 1.0f};
  const float expected = (1e8f + 1.0f) + (-1e8f + 1.0f);
  EXPECT_EQ(tree_sum(p, ar), expected);
  EXPECT_NE(expected, ((1e8f + 1.0f) + -1e8f) + 1.0f);  // a sequential sum would differ
}

}  // namespace lockstep
