#include "device_env.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "onnx_test_util.hpp"

namespace lockstep::onnx::test {

namespace {
std::unique_ptr<Context> g_context;
std::unique_ptr<Device> g_device;

class ValidationEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (g_context) expect_no_validation_messages();
    g_device.reset();
    g_context.reset();
  }
};
}  // namespace

Context& context() {
  if (!g_context) {
    ContextOptions o;
    o.validation = true;  // LOCKSTEP_VALIDATION=sync adds synchronization validation
    g_context = std::make_unique<Context>(o);
  }
  return *g_context;
}

Device& device() {
  if (!g_device) {
    const char* spec = std::getenv("LOCKSTEP_TEST_DEVICE");
    g_device = std::make_unique<Device>(context(), context().select(spec ? spec : "0").front());
    std::printf("[device] %s (%s), subgroup %u, validation %s\n", g_device->traits().name.c_str(),
                g_device->traits().driver_name.c_str(), g_device->traits().subgroup_size,
                context().validation_enabled() ? "on" : "off");
  }
  return *g_device;
}

void expect_no_validation_messages() {
  if (!g_context) return;
  EXPECT_EQ(g_context->validation_log().errors.load(), 0u) << "Vulkan validation errors were reported";
  EXPECT_EQ(g_context->validation_log().warnings.load(), 0u) << "Vulkan validation warnings were reported";
}

}  // namespace lockstep::onnx::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new lockstep::onnx::test::ValidationEnvironment);
  ::testing::AddGlobalTestEnvironment(lockstep::onnx::test::temp_dir_cleanup());
  return RUN_ALL_TESTS();
}
