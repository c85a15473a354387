#include "vk/context.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "vk/traits.hpp"

namespace lockstep {

namespace {

VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                     VkDebugUtilsMessageTypeFlagsEXT,
                                                     const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                     void* user) {
  auto* log = static_cast<ValidationLog*>(user);
  const bool error = severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  if (error) log->errors++;
  else log->warnings++;
  std::fprintf(stderr, "[vulkan validation %s] %s\n", error ? "error" : "warning",
               data && data->pMessage ? data->pMessage : "(no message)");
  return VK_FALSE;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

std::string device_type_name(vk::PhysicalDeviceType t) {
  switch (t) {
    case vk::PhysicalDeviceType::eDiscreteGpu: return "discrete";
    case vk::PhysicalDeviceType::eIntegratedGpu: return "integrated";
    case vk::PhysicalDeviceType::eVirtualGpu: return "virtual";
    case vk::PhysicalDeviceType::eCpu: return "cpu";
    default: return "other";
  }
}

Context::Context(const ContextOptions& options) : log_(std::make_unique<ValidationLog>()) {
  bool want_validation = options.validation;
  bool want_sync = options.sync_validation;
  if (const char* env = std::getenv("LOCKSTEP_VALIDATION")) {
    if (std::strcmp(env, "1") == 0 || std::strcmp(env, "on") == 0) want_validation = true;
    if (std::strcmp(env, "sync") == 0) want_validation = want_sync = true;
  }
  const char* layer_name = "VK_LAYER_KHRONOS_validation";
  bool layer_present = false;
  for (const auto& l : context_.enumerateInstanceLayerProperties())
    if (std::strcmp(l.layerName, layer_name) == 0) layer_present = true;
  if (want_validation && !layer_present) {
    if (options.require_validation)
      throw std::runtime_error(
          "validation was requested but VK_LAYER_KHRONOS_validation is not installed "
          "(Debian package vulkan-validationlayers)");
    std::fprintf(stderr, "lockstep: warning: VK_LAYER_KHRONOS_validation is not installed; running without it\n");
  }
  validation_ = want_validation && layer_present;

  vk::ApplicationInfo app("lockstep", VK_MAKE_VERSION(0, 1, 0), "lockstep", VK_MAKE_VERSION(0, 1, 0),
                          VK_API_VERSION_1_2);
  std::vector<const char*> layers, extensions;
  if (validation_) {
    layers.push_back(layer_name);
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  vk::ValidationFeatureEnableEXT sync_feature = vk::ValidationFeatureEnableEXT::eSynchronizationValidation;
  vk::ValidationFeaturesEXT features;
  if (validation_ && want_sync) features.setEnabledValidationFeatures(sync_feature);
  vk::InstanceCreateInfo info({}, &app, layers, extensions);
  if (validation_ && want_sync) info.pNext = &features;
  instance_ = vk::raii::Instance(context_, info);

  if (validation_) {
    vk::DebugUtilsMessengerCreateInfoEXT mi(
        {},
        vk::DebugUtilsMessageSeverityFlagBitsEXT::eWarning | vk::DebugUtilsMessageSeverityFlagBitsEXT::eError,
        vk::DebugUtilsMessageTypeFlagBitsEXT::eGeneral | vk::DebugUtilsMessageTypeFlagBitsEXT::eValidation |
            vk::DebugUtilsMessageTypeFlagBitsEXT::ePerformance,
        &on_validation_message, log_.get());
    messenger_ = vk::raii::DebugUtilsMessengerEXT(instance_, mi);
  }

  vk::raii::PhysicalDevices pds(instance_);
  for (auto& pd : pds) {
    const auto props = pd.getProperties();
    bool has_compute = false;
    for (const auto& q : pd.getQueueFamilyProperties())
      if (q.queueFlags & vk::QueueFlagBits::eCompute) has_compute = true;
    if (!has_compute) continue;
    PhysicalDeviceInfo i;
    i.index = static_cast<uint32_t>(infos_.size());
    i.name = props.deviceName.data();
    i.vendor_id = props.vendorID;
    const auto drv = pd.getProperties2<vk::PhysicalDeviceProperties2, vk::PhysicalDeviceDriverProperties>()
                         .get<vk::PhysicalDeviceDriverProperties>();
    i.vendor = vendor_name(props.vendorID, drv.driverName.data());
    i.type = device_type_name(props.deviceType);
    infos_.push_back(i);
    physical_.push_back(std::move(pd));
  }
  if (physical_.empty())
    throw std::runtime_error("no Vulkan device with a compute queue was found (is a driver installed? "
                             "on Debian: apt-get install mesa-vulkan-drivers)");
}

Context::~Context() = default;

const vk::raii::PhysicalDevice& Context::physical(uint32_t index) const {
  if (index >= physical_.size())
    throw std::invalid_argument("device index " + std::to_string(index) + " is out of range: " +
                                std::to_string(physical_.size()) + " device(s) found");
  return physical_[index];
}

std::vector<uint32_t> Context::select(const std::string& spec) const {
  std::vector<uint32_t> out;
  std::string list;
  for (const auto& d : infos_) list += "\n  " + std::to_string(d.index) + ": " + d.name + " (" + d.vendor + ")";
  if (spec.empty() || spec == "all") {
    for (const auto& d : infos_) out.push_back(d.index);
    return out;
  }
  if (std::all_of(spec.begin(), spec.end(), [](unsigned char c) { return std::isdigit(c); })) {
    unsigned long idx = 0;
    try {
      idx = std::stoul(spec);
    } catch (const std::exception&) {
      idx = infos_.size();
    }
    if (idx >= infos_.size())
      throw std::invalid_argument("device index " + spec + " is out of range; devices:" + list);
    return {static_cast<uint32_t>(idx)};
  }
  const std::string want = lower(spec);
  for (const auto& d : infos_)
    if (lower(d.vendor) == want) out.push_back(d.index);
  if (out.empty())
    for (const auto& d : infos_)
      if (lower(d.name).find(want) != std::string::npos) out.push_back(d.index);
  if (out.empty())
    throw std::invalid_argument("no device matches '" + spec + "' (by index, vendor or name); devices:" + list);
  return out;
}

}  // namespace lockstep
