// The Vulkan instance: validation layer on request, every physical device enumerated,
// selection by index, name substring or vendor.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "vk/vulkan.hpp"

namespace lockstep {

struct ContextOptions {
  // Turn on VK_LAYER_KHRONOS_validation. Also switched on by LOCKSTEP_VALIDATION=1.
  bool validation = false;
  // With validation: synchronization validation too (LOCKSTEP_VALIDATION=sync).
  bool sync_validation = false;
  // Fail if validation was asked for but the layer is not installed.
  bool require_validation = false;
};

struct PhysicalDeviceInfo {
  uint32_t index = 0;
  std::string name;
  uint32_t vendor_id = 0;
  std::string vendor;
  std::string type;
};

// Counts and prints validation messages; tests assert the counts stay zero.
struct ValidationLog {
  std::atomic<uint32_t> errors{0};
  std::atomic<uint32_t> warnings{0};
};

// "discrete", "integrated", "virtual", "cpu" or "other".
std::string device_type_name(vk::PhysicalDeviceType t);

class Context {
 public:
  explicit Context(const ContextOptions& options = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const std::vector<PhysicalDeviceInfo>& devices() const { return infos_; }
  // "N" (index), "all", a vendor ("nvidia", "amd", "intel", ...), or a name substring
  // (case-insensitive). Throws std::invalid_argument listing the devices when nothing matches.
  std::vector<uint32_t> select(const std::string& spec) const;

  const vk::raii::PhysicalDevice& physical(uint32_t index) const;
  const vk::raii::Instance& instance() const { return instance_; }
  bool validation_enabled() const { return validation_; }
  const ValidationLog& validation_log() const { return *log_; }

 private:
  vk::raii::Context context_;
  vk::raii::Instance instance_{nullptr};
  vk::raii::DebugUtilsMessengerEXT messenger_{nullptr};
  std::vector<vk::raii::PhysicalDevice> physical_;
  std::vector<PhysicalDeviceInfo> infos_;
  std::unique_ptr<ValidationLog> log_;
  bool validation_ = false;
};

}  // namespace lockstep
