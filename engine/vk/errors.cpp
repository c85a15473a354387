#include "vk/errors.hpp"

#include "vk/vulkan.hpp"

namespace lockstep::vk_errors {

const char* result_name(VkResult r) {
  switch (r) {
#define LS_CASE(x) case x: return #x;
    LS_CASE(VK_SUCCESS) LS_CASE(VK_NOT_READY) LS_CASE(VK_TIMEOUT) LS_CASE(VK_EVENT_SET)
    LS_CASE(VK_EVENT_RESET) LS_CASE(VK_INCOMPLETE) LS_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    LS_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY) LS_CASE(VK_ERROR_INITIALIZATION_FAILED)
    LS_CASE(VK_ERROR_DEVICE_LOST) LS_CASE(VK_ERROR_MEMORY_MAP_FAILED) LS_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    LS_CASE(VK_ERROR_EXTENSION_NOT_PRESENT) LS_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    LS_CASE(VK_ERROR_INCOMPATIBLE_DRIVER) LS_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    LS_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED) LS_CASE(VK_ERROR_FRAGMENTED_POOL) LS_CASE(VK_ERROR_UNKNOWN)
    LS_CASE(VK_ERROR_OUT_OF_POOL_MEMORY) LS_CASE(VK_ERROR_INVALID_EXTERNAL_HANDLE)
    LS_CASE(VK_ERROR_FRAGMENTATION) LS_CASE(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS)
    LS_CASE(VK_PIPELINE_COMPILE_REQUIRED) LS_CASE(VK_ERROR_INVALID_SHADER_NV)
#undef LS_CASE
    default: return "VK_RESULT_UNKNOWN";
  }
}

VulkanError::VulkanError(const std::string& call, VkResult r, const std::string& detail)
    : std::runtime_error(call + " failed: " + result_name(r) + (detail.empty() ? "" : " (" + detail + ")")),
      result_(r) {}

std::string describe(const std::exception& e) {
  if (auto* se = dynamic_cast<const vk::SystemError*>(&e))
    return std::string(se->what()) + " [" + result_name(static_cast<VkResult>(se->code().value())) + "]";
  return e.what();
}

}  // namespace lockstep::vk_errors
