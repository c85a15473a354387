// Vulkan failures carry the call and the VkResult name. vulkan.hpp throws vk::SystemError
// whose what() names the call ("vk::Device::createBuffer: ErrorOutOfDeviceMemory");
// describe() adds the C name (VK_ERROR_OUT_OF_DEVICE_MEMORY) users search for.
#pragma once
#include <stdexcept>
#include <string>

#include <vulkan/vulkan_core.h>

namespace lockstep::vk_errors {

const char* result_name(VkResult r);

// An error raised by the engine's own Vulkan checks (timeouts, missing memory types, ...).
class VulkanError : public std::runtime_error {
 public:
  VulkanError(const std::string& call, VkResult r, const std::string& detail = {});
  VkResult result() const { return result_; }

 private:
  VkResult result_;
};

// A human-readable line for any exception, with the VkResult name for Vulkan errors.
std::string describe(const std::exception& e);

}  // namespace lockstep::vk_errors
