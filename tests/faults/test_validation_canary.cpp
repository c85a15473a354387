// The validation layer really reports, and lockstep really counts what it reports: a deliberate
// violation of each kind the device tests rely on (core validation: a dispatch with no pipeline
// bound; synchronization validation: two writes to one buffer with no barrier between them) must
// raise the error count that tests/device/harness.cpp requires to stay at zero. The commands are
// recorded only, never submitted. Without this, a missing layer or a broken messenger would let
// every device test pass vacuously.
#include <gtest/gtest.h>

#include <cstdlib>

#include "vk/context.hpp"
#include "vk/device.hpp"

namespace lockstep::test {
namespace {

TEST(ValidationCanary, DeliberateViolationsAreReportedAndCounted) {
  ContextOptions o;
  o.validation = true;
  o.sync_validation = true;
  // Where the tests ask for validation (ctest sets LOCKSTEP_VALIDATION=sync), it must be there.
  o.require_validation = std::getenv("LOCKSTEP_VALIDATION") != nullptr;
  Context ctx(o);
  if (!ctx.validation_enabled()) GTEST_SKIP() << "VK_LAYER_KHRONOS_validation is not installed";
  Device device(ctx, ctx.select("0").front());
  const uint32_t clean = ctx.validation_log().errors.load();
  EXPECT_EQ(clean, 0u) << "the device and its probe must be validation-clean";

  {
    auto cb = device.allocate_command_buffer();
    cb.begin(vk::CommandBufferBeginInfo(vk::CommandBufferUsageFlagBits::eOneTimeSubmit));
    std::fprintf(stderr, "[ canary ] a dispatch with no compute pipeline bound (an error is expected next):\n");
    cb.dispatch(1, 1, 1);
    cb.end();
  }
  const uint32_t core = ctx.validation_log().errors.load();
  EXPECT_GT(core, clean) << "core validation did not report a dispatch without a pipeline";

  Buffer b = device.create_buffer(4096);
  {
    auto cb = device.allocate_command_buffer();
    cb.begin(vk::CommandBufferBeginInfo(vk::CommandBufferUsageFlagBits::eOneTimeSubmit));
    std::fprintf(stderr, "[ canary ] two fills of one buffer with no barrier (a hazard is expected next):\n");
    cb.fillBuffer(b.handle(), 0, VK_WHOLE_SIZE, 0u);
    cb.fillBuffer(b.handle(), 0, VK_WHOLE_SIZE, 1u);
    cb.end();
  }
  EXPECT_GT(ctx.validation_log().errors.load(), core)
      << "synchronization validation did not report a write-after-write hazard";
  std::printf("[ canary ] validation errors counted: %u (core), %u (with synchronization)\n", core - clean,
              ctx.validation_log().errors.load() - core);
}

}  // namespace
}  // namespace lockstep::test
