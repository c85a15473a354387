#include "device/harness.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

namespace lockstep::test {

namespace {
std::unique_ptr<Context> g_context;
std::unique_ptr<Device> g_device;
std::string g_noisy_tests;  // "Suite.Name (N messages)" for every test that caused a message

// Names the tests during which validation messages appeared (the counts are process-wide).
class ValidationListener : public ::testing::EmptyTestEventListener {
  uint32_t before_ = 0;
  static uint32_t count() {
    return g_context ? g_context->validation_log().errors.load() + g_context->validation_log().warnings.load() : 0;
  }
  void OnTestStart(const ::testing::TestInfo&) override { before_ = count(); }
  void OnTestEnd(const ::testing::TestInfo& t) override {
    if (const uint32_t n = count() - before_)
      g_noisy_tests += std::string("\n  ") + t.test_suite_name() + "." + t.name() + " (" + std::to_string(n) + ")";
  }
};

class ValidationEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (g_context) {
      EXPECT_EQ(g_context->validation_log().errors.load(), 0u)
          << "Vulkan validation errors were reported, during:" << g_noisy_tests;
      EXPECT_EQ(g_context->validation_log().warnings.load(), 0u)
          << "Vulkan validation warnings were reported, during:" << g_noisy_tests;
    }
    g_device.reset();
    g_context.reset();
  }
};
}  // namespace

Context& context() {
  if (!g_context) {
    ContextOptions o;
    o.validation = true;  // where installed; LOCKSTEP_VALIDATION=sync adds synchronization validation
    g_context = std::make_unique<Context>(o);
  }
  return *g_context;
}

Device& device() {
  if (!g_device) {
    const char* spec = std::getenv("LOCKSTEP_TEST_DEVICE");
    const auto picked = context().select(spec ? spec : "0");
    g_device = std::make_unique<Device>(context(), picked.front());
  }
  return *g_device;
}

const std::vector<conformance::OpRun>& suite_runs(const std::string& op) {
  static std::map<std::string, std::vector<conformance::OpRun>> cache;
  auto it = cache.find(op);
  if (it == cache.end()) {
    conformance::SuiteOptions o;
    o.op_filter = op;
    it = cache.emplace(op, conformance::run_op_suite(device(), o)).first;
  }
  return it->second;
}

void expect_fixed_bit_exact(const std::string& op) {
  const auto& runs = suite_runs(op);
  ASSERT_FALSE(runs.empty()) << "no cases for " << op;
  size_t muladd_runs = 0;
  for (const auto& r : runs) {
    if (!r.mode.fixed() || r.refused) continue;
    if (r.mode.mac == MacContract::MulAdd) muladd_runs++;
    EXPECT_TRUE(r.bit_exact) << op << " " << r.case_name << " " << describe(r.mode) << ": " << r.mismatches
                             << " of " << r.elements << " elements differ; first at " << r.first_mismatch << ": device "
                             << r.device_value << ", reference " << r.reference_value;
    EXPECT_EQ(r.mismatches, 0u);
  }
  EXPECT_GT(muladd_runs, 0u) << "the device refused every muladd contract";
}

void expect_accuracy(const std::string& op, double free_tolerance) {
  const auto& runs = suite_runs(op);
  double fixed_sum = 0.0, free_sum = 0.0;
  std::map<std::string, std::pair<double, double>> per_case;
  for (const auto& r : runs) {
    if (r.refused) continue;
    const bool base_fixed = r.mode.fixed() && r.mode.mac == MacContract::MulAdd && r.mode.denorm == DenormRule::Preserve;
    if (!r.mode.fixed()) {
      EXPECT_LE(r.error.rel_rms, free_tolerance) << op << " " << r.case_name << ": free order too far from the oracle";
      EXPECT_EQ(r.error.nonfinite_mismatch, 0u) << op << " " << r.case_name << ": inf/NaN where the oracle is finite";
      free_sum += r.error.rel_rms;
      per_case[r.case_name].second = r.error.rel_rms;
    } else if (base_fixed) {
      EXPECT_EQ(r.error.nonfinite_mismatch, 0u) << op << " " << r.case_name << ": inf/NaN where the oracle is finite";
      fixed_sum += r.error.rel_rms;
      per_case[r.case_name].first = r.error.rel_rms;
    }
  }
  for (const auto& [name, e] : per_case)
    std::printf("[accuracy] %-20s %-32s fixed %.3g  free %.3g (relative RMS error vs float64)\n", op.c_str(), name.c_str(),
                e.first, e.second);
  // A floor for ops that are exact in both orders (both sums are 0).
  EXPECT_LE(fixed_sum, 2.0 * free_sum + 1e-12) << op << ": fixed order is more than 2x less accurate than free order";
}

}  // namespace lockstep::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new lockstep::test::ValidationEnvironment);
  ::testing::UnitTest::GetInstance()->listeners().Append(new lockstep::test::ValidationListener);
  return RUN_ALL_TESTS();
}
