// The start-up probe reports what the device really does; on lavapipe the known facts
// (DESIGN.md): fma() rounds twice, denormals survive, no float-control denormal modes.
#include "device/harness.hpp"

namespace lockstep::test {

TEST(Probe, RanAndMeasuredSubgroupSize) {
  const auto& t = device().traits();
  EXPECT_TRUE(t.probe_ran);
  EXPECT_GT(t.fma_cases, 100u);
  EXPECT_EQ(t.fma_fused_cases + t.fma_unfused_cases, t.fma_cases) << "fma() returned neither rounding";
  EXPECT_GE(t.subgroup_size_measured, 1u);
  EXPECT_LE(t.subgroup_size_measured, 128u);
  EXPECT_EQ(t.subgroup_size_measured & (t.subgroup_size_measured - 1), 0u) << "subgroup size is not a power of two";
}

TEST(Probe, FmaContractFollowsTheFusionProbe) {
  const auto& t = device().traits();
  const NumericMode fma{Order::Fixed, MacContract::Fma, DenormRule::Preserve};
  if (t.fma_fused) {
    EXPECT_FALSE(t.refusal(fma).has_value());
  } else {
    ASSERT_TRUE(t.refusal(fma).has_value());
    try {
      device().require(fma);
      FAIL() << "fma contract accepted on a device whose fma() is not fused";
    } catch (const std::runtime_error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(t.name), std::string::npos) << msg;  // names the device
      EXPECT_NE(msg.find("not fused"), std::string::npos) << msg;  // and why
    }
  }
}

TEST(Probe, LavapipeIsReportedTruthfully) {
  const auto& t = device().traits();
  if (!t.is_lavapipe()) GTEST_SKIP() << "not lavapipe: " << t.name;
  EXPECT_FALSE(t.fma_fused);
  EXPECT_EQ(t.fma_fused_cases, 0u);
  EXPECT_TRUE(t.denormals_preserved);
  EXPECT_FALSE(t.denormal_operands_flushed);
  EXPECT_FALSE(t.denormal_results_flushed);
  EXPECT_FALSE(t.denorm_preserve_f32);  // keeps denormals without advertising either mode
  EXPECT_FALSE(t.denorm_flush_f32);
  EXPECT_TRUE(t.rounds_nearest_even);
  EXPECT_TRUE(t.texel_fetch_exact);  // texel views pass every bit pattern both ways
  EXPECT_TRUE(t.texel_store_exact);
  EXPECT_FALSE(t.refusal({Order::Fixed, MacContract::MulAdd, DenormRule::Preserve}).has_value());
  EXPECT_FALSE(t.refusal({Order::Fixed, MacContract::MulAdd, DenormRule::Ftz}).has_value());
  EXPECT_TRUE(t.refusal({Order::Fixed, MacContract::Fma, DenormRule::Ftz}).has_value());
  EXPECT_EQ(t.subgroup_size_measured, t.subgroup_size);
}

}  // namespace lockstep::test
