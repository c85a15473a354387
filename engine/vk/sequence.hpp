// A recorded list of compute dispatches: descriptor sets, push constants, a barrier after
// every dispatch (each one reads what the previous wrote), optional GPU timestamps.
// Record once, submit as often as needed; every wait is bounded by the device's timeout.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "vk/device.hpp"

namespace lockstep {

// A buffer bound to a kernel: a storage buffer, or an RGBA32F texel view where the kernel
// declares a texel binding (KernelDesc::texel_bindings). VK_WHOLE_SIZE: to the end of the
// allocation (a multiple of 16 bytes).
struct Binding {
  const Buffer* buffer = nullptr;
  uint64_t offset = 0;
  uint64_t range = VK_WHOLE_SIZE;
};

struct DispatchTiming {
  std::string label;
  double ms = 0.0;
};

class Sequence {
 public:
  explicit Sequence(Device& device, bool timestamps = false);
  Sequence(const Sequence&) = delete;
  Sequence& operator=(const Sequence&) = delete;

  // `groups` workgroups in all; spread over x and y when above the device's x limit
  // (shaders use ls_linear_group(), shaders/common.glsl).
  void dispatch(const Kernel& kernel, std::initializer_list<Binding> bindings, const void* push, uint32_t push_bytes,
                uint64_t groups, std::string label = {});
  template <class Push>
  void dispatch(const Kernel& kernel, std::initializer_list<Binding> bindings, const Push& push, uint64_t groups,
                std::string label = {}) {
    dispatch(kernel, bindings, &push, sizeof(Push), groups, std::move(label));
  }

  // Names the dispatches recorded from now on (e.g. the network layer), shown in timings().
  void set_scope(std::string scope) { scope_ = std::move(scope); }

  void submit();  // ends recording on first call, submits, waits
  std::vector<DispatchTiming> timings() const;
  size_t dispatch_count() const { return labels_.size(); }

 private:
  vk::DescriptorSet allocate_set(const Kernel& kernel);

  Device& device_;
  vk::raii::CommandBuffer cb_{nullptr};
  std::vector<vk::raii::DescriptorPool> pools_;
  std::vector<vk::raii::BufferView> views_;  // texel views of the recorded dispatches
  uint32_t sets_in_pool_ = 0;
  vk::raii::QueryPool queries_{nullptr};
  uint32_t query_capacity_ = 0;
  std::vector<std::string> labels_;
  std::string scope_;
  bool ended_ = false;
};

}  // namespace lockstep
