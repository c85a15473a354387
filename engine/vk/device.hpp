// One logical device: a compute queue, buffers with staging transfers, kernels (compute
// pipelines with specialization and push constants, from an on-disk pipeline cache), and
// bounded waits. Knows nothing of ops or networks.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vk/context.hpp"
#include "vk/traits.hpp"
#include "vk/vulkan.hpp"

namespace lockstep {

class Device;
namespace vk_errors {
class VulkanError;
}

// A storage buffer in device memory (device-local where the device has it). Its allocation is
// rounded up to 16 bytes so that it can also be read as RGBA32F texels or vec4s to the end.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    release_count();
    buffer_ = std::move(o.buffer_);
    memory_ = std::move(o.memory_);
    bytes_ = o.bytes_, host_visible_ = o.host_visible_, host_coherent_ = o.host_coherent_;
    counter_ = o.counter_, counted_ = o.counted_;
    o.counter_ = nullptr, o.counted_ = 0, o.bytes_ = 0;
    return *this;
  }
  ~Buffer() { release_count(); }
  uint64_t bytes() const { return bytes_; }
  uint64_t allocated_bytes() const { return (bytes_ + 15) / 16 * 16; }
  vk::Buffer handle() const { return *buffer_; }
  bool valid() const { return bytes_ != 0; }

 private:
  friend class Device;
  vk::raii::Buffer buffer_{nullptr};
  vk::raii::DeviceMemory memory_{nullptr};
  uint64_t bytes_ = 0;
  bool host_visible_ = false;
  bool host_coherent_ = false;
  // The device's count of allocated bytes, kept for out-of-memory messages.
  uint64_t* counter_ = nullptr;
  uint64_t counted_ = 0;
  void release_count() {
    if (counter_) *counter_ -= counted_;
    counter_ = nullptr;
    counted_ = 0;
  }
};

struct SpecConstant {
  uint32_t id;
  uint32_t value;  // bools as 0/1 (VkBool32)
};

struct KernelDesc {
  std::string shader;          // embedded shader variant name
  uint32_t bindings = 0;       // buffers at bindings 0..bindings-1: storage buffers, except ...
  uint32_t push_bytes = 0;
  uint32_t workgroup_size = 64;  // local_size_x (specialization constant id 100)
  std::vector<SpecConstant> spec;
  bool full_subgroups = false;   // require full subgroups where the device can
  uint32_t texel_bindings = 0;   // ... bit i set: binding i is a uniform texel buffer (RGBA32F view)
  uint32_t store_texel_bindings = 0;  // ... bit i set: binding i is a storage texel buffer (RGBA32F view)
  std::string key() const;
  vk::DescriptorType descriptor_type(uint32_t binding) const;
};

struct Kernel {
  KernelDesc desc;
  vk::raii::DescriptorSetLayout set_layout{nullptr};
  vk::raii::PipelineLayout layout{nullptr};
  vk::raii::Pipeline pipeline{nullptr};
};

class PipelineCacheFile;

class Device {
 public:
  Device(const Context& context, uint32_t index);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const DeviceTraits& traits() const { return traits_; }
  uint32_t index() const { return index_; }
  const vk::raii::Device& device() const { return device_; }
  vk::Queue queue() const { return *queue_; }
  uint32_t queue_family() const { return queue_family_; }

  Buffer create_buffer(uint64_t bytes);
  void upload(Buffer& dst, const void* src, uint64_t bytes, uint64_t dst_offset = 0);
  void download(const Buffer& src, void* dst, uint64_t bytes, uint64_t src_offset = 0);
  void fill_zero(Buffer& dst);

  template <class T>
  Buffer upload_new(std::span<const T> data) {
    Buffer b = create_buffer(std::max<uint64_t>(data.size_bytes(), 4));
    if (!data.empty()) upload(b, data.data(), data.size_bytes());
    return b;
  }
  template <class T>
  std::vector<T> download_all(const Buffer& b, uint64_t count) {
    std::vector<T> out(count);
    download(b, out.data(), count * sizeof(T));
    return out;
  }

  // The compiled kernel for `desc`, created once and cached.
  const Kernel& kernel(const KernelDesc& desc);
  // The variant of a fixed-order shader that carries the float-control modes this device
  // supports and `m` needs (see cmake/Shaders.cmake): "+rte" where RTE can be requested,
  // "+dp" where DenormPreserve is needed and supported.
  std::string fixed_variant(const std::string& base, const NumericMode& m) const;
  // Throws std::runtime_error naming the device when `m` cannot run here.
  void require(const NumericMode& m) const;

  // Record with `record`, submit, wait at most the fence timeout.
  void run_commands(const std::function<void(vk::CommandBuffer)>& record);
  void submit_and_wait(vk::CommandBuffer cb, const char* what);
  vk::raii::CommandBuffer allocate_command_buffer();

  // Bounded by LOCKSTEP_FENCE_TIMEOUT_MS where set (default 120 s, 10 min on CPU devices). A
  // timeout throws VulkanError VK_TIMEOUT once the work has drained (30 s grace period); work
  // that does not drain ends the process with status 2 (its buffers cannot be freed safely).
  std::chrono::milliseconds fence_timeout() const { return fence_timeout_; }
  void set_fence_timeout(std::chrono::milliseconds t) { fence_timeout_ = t; }

  // Largest range one storage binding may cover on this device.
  uint64_t max_binding_bytes() const { return max_binding_bytes_; }
  // Tests lower it to exercise the split of large buffers on small shapes.
  void set_max_binding_bytes(uint64_t b);

  // Workgroup size for kernels that use subgroups: a multiple of the largest subgroup size.
  uint32_t subgroup_workgroup_size() const;

  // Saves the pipeline cache now (also done on destruction).
  void save_pipeline_cache();

  // Device memory lockstep may use: the largest device-local heap, or less where
  // LOCKSTEP_DEVICE_MEMORY_LIMIT (bytes, or with K/M/G) says so; 0 when unknown. The executor
  // refuses a network whose weights and activations do not fit.
  uint64_t memory_budget() const { return memory_budget_; }
  const std::string& memory_budget_source() const { return memory_budget_source_; }
  // Bytes of device memory allocated through this device and not yet freed.
  uint64_t allocated_bytes() const { return allocated_bytes_; }
  // True after VK_ERROR_DEVICE_LOST (or a work that never finished): every later submission fails.
  bool lost() const { return lost_; }

 private:
  void create_device();
  uint32_t memory_type(uint32_t type_bits, vk::MemoryPropertyFlags want, vk::MemoryPropertyFlags avoid = {}) const;
  Buffer create_buffer_with(uint64_t bytes, vk::BufferUsageFlags usage, bool host_visible);
  vk_errors::VulkanError device_lost(const char* call, const char* what);

  const vk::raii::PhysicalDevice& physical_;
  uint32_t index_;
  DeviceTraits traits_;
  vk::PhysicalDeviceMemoryProperties memory_props_;
  vk::raii::Device device_{nullptr};
  vk::raii::Queue queue_{nullptr};
  uint32_t queue_family_ = 0;
  vk::raii::CommandPool pool_{nullptr};
  vk::raii::Fence fence_{nullptr};
  std::unique_ptr<PipelineCacheFile> cache_file_;
  vk::raii::PipelineCache pipeline_cache_{nullptr};
  std::map<std::string, std::unique_ptr<Kernel>> kernels_;
  std::chrono::milliseconds fence_timeout_{120000};
  uint64_t max_binding_bytes_ = 0;
  bool enabled_size_control_ = false;
  uint64_t memory_budget_ = 0;
  std::string memory_budget_source_;
  uint64_t allocated_bytes_ = 0;
  bool lost_ = false;
};

}  // namespace lockstep
