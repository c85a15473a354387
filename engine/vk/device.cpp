#include "vk/device.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "vk/embedded_shaders.hpp"
#include "vk/errors.hpp"
#include "vk/pipeline_cache_file.hpp"
#include "vk/probe.hpp"
#include "util/fault.hpp"
#include "util/interrupt.hpp"

#include <csignal>
#include <cstdlib>

namespace lockstep {

namespace {
bool has_extension(const std::vector<vk::ExtensionProperties>& exts, const char* name) {
  return std::any_of(exts.begin(), exts.end(), [&](const auto& e) { return std::strcmp(e.extensionName, name) == 0; });
}

// A positive integer from the environment, with an optional K/M/G suffix (powers of 1024); 0
// when unset. A malformed value is an error: a test or a user asked for something explicitly.
uint64_t env_quantity(const char* name, bool suffixes) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v, &end, 10);
  uint64_t scale = 1;
  if (suffixes && end && *end) {
    const char c = *end++;
    scale = c == 'K' || c == 'k' ? 1ull << 10 : c == 'M' || c == 'm' ? 1ull << 20 : c == 'G' || c == 'g' ? 1ull << 30 : 0;
    if (*end == 'i') ++end;
    if (*end == 'B') ++end;
  }
  if (end == v || *end || scale == 0 || n == 0)
    throw std::invalid_argument(std::string(name) + "='" + v + "': expected a positive integer" +
                                (suffixes ? " (bytes, or with K, M or G)" : ""));
  return uint64_t(n) * scale;
}
}  // namespace

std::string KernelDesc::key() const {
  std::string k = shader + "|b" + std::to_string(bindings) + "|t" + std::to_string(texel_bindings) + "|s" +
                  std::to_string(store_texel_bindings) + "|p" +
                  std::to_string(push_bytes) + "|wg" + std::to_string(workgroup_size) + (full_subgroups ? "|full" : "");
  for (const auto& s : spec) k += "|" + std::to_string(s.id) + "=" + std::to_string(s.value);
  return k;
}

vk::DescriptorType KernelDesc::descriptor_type(uint32_t binding) const {
  if (texel_bindings >> binding & 1u) return vk::DescriptorType::eUniformTexelBuffer;
  if (store_texel_bindings >> binding & 1u) return vk::DescriptorType::eStorageTexelBuffer;
  return vk::DescriptorType::eStorageBuffer;
}

Device::Device(const Context& context, uint32_t index) : physical_(context.physical(index)), index_(index) {
  const auto chain = physical_.getProperties2<vk::PhysicalDeviceProperties2, vk::PhysicalDeviceSubgroupProperties,
                                              vk::PhysicalDeviceSubgroupSizeControlPropertiesEXT,
                                              vk::PhysicalDeviceVulkan12Properties, vk::PhysicalDeviceIDProperties>();
  const auto& props = chain.get<vk::PhysicalDeviceProperties2>().properties;
  const auto& sg = chain.get<vk::PhysicalDeviceSubgroupProperties>();
  const auto& sgc = chain.get<vk::PhysicalDeviceSubgroupSizeControlPropertiesEXT>();
  const auto& v12 = chain.get<vk::PhysicalDeviceVulkan12Properties>();
  const auto& ids = chain.get<vk::PhysicalDeviceIDProperties>();
  const auto exts = physical_.enumerateDeviceExtensionProperties();

  DeviceTraits& t = traits_;
  t.name = props.deviceName.data();
  t.vendor_id = props.vendorID;
  t.device_id = props.deviceID;
  t.device_type = device_type_name(props.deviceType);
  t.driver_name = v12.driverName.data();
  t.driver_info = v12.driverInfo.data();
  t.vendor = vendor_name(props.vendorID, t.driver_name);
  t.driver_version = props.driverVersion;
  t.api_version = props.apiVersion;
  std::copy(ids.deviceUUID.begin(), ids.deviceUUID.end(), t.device_uuid.begin());
  std::copy(props.pipelineCacheUUID.begin(), props.pipelineCacheUUID.end(), t.pipeline_cache_uuid.begin());
  t.max_storage_buffer_range = props.limits.maxStorageBufferRange;
  t.min_storage_buffer_offset_alignment = props.limits.minStorageBufferOffsetAlignment;
  t.max_workgroup_invocations = props.limits.maxComputeWorkGroupInvocations;
  t.max_workgroup_count_x = props.limits.maxComputeWorkGroupCount[0];
  t.max_workgroup_count_y = props.limits.maxComputeWorkGroupCount[1];
  t.max_shared_memory = props.limits.maxComputeSharedMemorySize;
  t.max_texel_buffer_elements = props.limits.maxTexelBufferElements;
  t.min_texel_buffer_offset_alignment = props.limits.minTexelBufferOffsetAlignment;
  const auto rgba32f = physical_.getFormatProperties(vk::Format::eR32G32B32A32Sfloat).bufferFeatures;
  t.texel_buffer_rgba32f = bool(rgba32f & vk::FormatFeatureFlagBits::eUniformTexelBuffer);
  t.texel_store_rgba32f = bool(rgba32f & vk::FormatFeatureFlagBits::eStorageTexelBuffer);
  t.timestamp_period_ns = props.limits.timestampPeriod;
  t.subgroup_size = sg.subgroupSize;
  t.subgroup_basic = bool(sg.supportedOperations & vk::SubgroupFeatureFlagBits::eBasic);
  t.subgroup_arithmetic = bool(sg.supportedOperations & vk::SubgroupFeatureFlagBits::eArithmetic);
  t.subgroup_shuffle = bool(sg.supportedOperations & vk::SubgroupFeatureFlagBits::eShuffle);
  if (!(sg.supportedStages & vk::ShaderStageFlagBits::eCompute)) t.subgroup_basic = t.subgroup_arithmetic = t.subgroup_shuffle = false;
  t.denorm_preserve_f32 = v12.shaderDenormPreserveFloat32;
  t.denorm_flush_f32 = v12.shaderDenormFlushToZeroFloat32;
  t.rounding_rte_f32 = v12.shaderRoundingModeRTEFloat32;
  t.rounding_rtz_f32 = v12.shaderRoundingModeRTZFloat32;
  t.signed_zero_inf_nan_preserve_f32 = v12.shaderSignedZeroInfNanPreserveFloat32;
  t.khr_shader_fma = has_extension(exts, "VK_KHR_shader_fma");
  if (has_extension(exts, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME) || props.apiVersion >= VK_API_VERSION_1_3) {
    t.subgroup_size_control = true;
    t.min_subgroup_size = sgc.minSubgroupSize;
    t.max_subgroup_size = sgc.maxSubgroupSize;
  } else {
    t.min_subgroup_size = t.max_subgroup_size = sg.subgroupSize;
  }
  if (has_extension(exts, "VK_KHR_maintenance3") || props.apiVersion >= VK_API_VERSION_1_1) {
    const auto m3 = physical_.getProperties2<vk::PhysicalDeviceProperties2, vk::PhysicalDeviceMaintenance3Properties>()
                        .get<vk::PhysicalDeviceMaintenance3Properties>();
    t.max_memory_allocation_size = m3.maxMemoryAllocationSize;
  }
  memory_props_ = physical_.getMemoryProperties();
  for (uint32_t h = 0; h < memory_props_.memoryHeapCount; ++h)
    if (memory_props_.memoryHeaps[h].flags & vk::MemoryHeapFlagBits::eDeviceLocal)
      t.device_local_bytes = std::max<uint64_t>(t.device_local_bytes, memory_props_.memoryHeaps[h].size);
  max_binding_bytes_ = t.max_storage_buffer_range;
  if (t.max_memory_allocation_size) max_binding_bytes_ = std::min(max_binding_bytes_, t.max_memory_allocation_size);
  // Test and deployment knobs: a shorter fence timeout (the timeout tests), and a smaller memory
  // budget than the heap (refusing models that would crowd out other users of the device).
  // CPU drivers (lavapipe) compile each pipeline at its first dispatch, inside the wait, and
  // share the cores with everything else: a large network's first run can take minutes there.
  if (props.deviceType == vk::PhysicalDeviceType::eCpu) fence_timeout_ = std::chrono::minutes(10);
  if (const uint64_t ms = env_quantity("LOCKSTEP_FENCE_TIMEOUT_MS", false)) fence_timeout_ = std::chrono::milliseconds(ms);
  memory_budget_ = t.device_local_bytes;
  memory_budget_source_ = "its device-local heap";
  if (const uint64_t limit = env_quantity("LOCKSTEP_DEVICE_MEMORY_LIMIT", true); limit && (limit < memory_budget_ || !memory_budget_)) {
    memory_budget_ = limit;
    memory_budget_source_ = "the LOCKSTEP_DEVICE_MEMORY_LIMIT budget";
  }

  create_device();

  PipelineCacheIdentity pid{t.vendor_id, t.device_id, t.driver_version, t.pipeline_cache_uuid};
  cache_file_ = std::make_unique<PipelineCacheFile>(pid);
  std::string warning;
  std::vector<uint8_t> initial;
  if (auto data = cache_file_->load(&warning)) initial = std::move(*data);
  else if (!warning.empty()) std::fprintf(stderr, "lockstep: warning: %s\n", warning.c_str());
  vk::PipelineCacheCreateInfo ci({}, initial.size(), initial.empty() ? nullptr : initial.data());
  pipeline_cache_ = vk::raii::PipelineCache(device_, ci);

  probe_device(*this, traits_);
}

Device::~Device() {
  if (lost_) return;  // nothing the driver says about a lost device is worth keeping
  try {
    save_pipeline_cache();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lockstep: warning: pipeline cache not saved: %s\n", e.what());
  }
}

void Device::save_pipeline_cache() {
  if (!cache_file_ || !cache_file_->enabled() || !*pipeline_cache_) return;
  if (interrupt::requested()) return;  // asked to stop: the old cache file stays as it is
  std::string warning;
  if (!cache_file_->save(pipeline_cache_.getData(), &warning))
    std::fprintf(stderr, "lockstep: warning: %s\n", warning.c_str());
}

void Device::create_device() {
  const auto families = physical_.getQueueFamilyProperties();
  // Prefer a compute queue without graphics (a dedicated compute engine), else any compute queue.
  int best = -1;
  for (uint32_t i = 0; i < families.size(); ++i) {
    if (!(families[i].queueFlags & vk::QueueFlagBits::eCompute)) continue;
    if (best < 0 || !(families[i].queueFlags & vk::QueueFlagBits::eGraphics)) best = static_cast<int>(i);
  }
  queue_family_ = static_cast<uint32_t>(best);
  traits_.timestamp_valid_bits = families[queue_family_].timestampValidBits;
  traits_.timestamps = traits_.timestamp_valid_bits > 0 && traits_.timestamp_period_ns > 0.0f;

  const float priority = 1.0f;
  vk::DeviceQueueCreateInfo qi({}, queue_family_, 1, &priority);
  std::vector<const char*> exts;
  const auto available = physical_.enumerateDeviceExtensionProperties();
  vk::PhysicalDeviceSubgroupSizeControlFeaturesEXT sgc_features;
  vk::PhysicalDeviceFeatures2 features2;
  bool want_sgc = false;
  if (has_extension(available, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME)) {
    const auto f = physical_.getFeatures2<vk::PhysicalDeviceFeatures2, vk::PhysicalDeviceSubgroupSizeControlFeaturesEXT>()
                       .get<vk::PhysicalDeviceSubgroupSizeControlFeaturesEXT>();
    if (f.computeFullSubgroups) {
      want_sgc = true;
      exts.push_back(VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
      sgc_features.subgroupSizeControl = f.subgroupSizeControl;
      sgc_features.computeFullSubgroups = VK_TRUE;
      features2.pNext = &sgc_features;
    }
  }
  enabled_size_control_ = want_sgc;
  traits_.compute_full_subgroups = want_sgc;
  // fp16 arithmetic where the device has it (Vulkan 1.2 core): only `lockstep peak` uses it.
  vk::PhysicalDeviceShaderFloat16Int8Features f16_features;
  if (physical_.getFeatures2<vk::PhysicalDeviceFeatures2, vk::PhysicalDeviceShaderFloat16Int8Features>()
          .get<vk::PhysicalDeviceShaderFloat16Int8Features>()
          .shaderFloat16) {
    f16_features.shaderFloat16 = VK_TRUE;
    f16_features.pNext = features2.pNext;
    features2.pNext = &f16_features;
    traits_.shader_float16 = true;
  }
  vk::DeviceCreateInfo di({}, qi, {}, exts, nullptr);
  di.pNext = &features2;
  device_ = vk::raii::Device(physical_, di);
  queue_ = device_.getQueue(queue_family_, 0);
  pool_ = vk::raii::CommandPool(device_, vk::CommandPoolCreateInfo(vk::CommandPoolCreateFlagBits::eResetCommandBuffer,
                                                                     queue_family_));
  fence_ = vk::raii::Fence(device_, vk::FenceCreateInfo());
}

uint32_t Device::memory_type(uint32_t type_bits, vk::MemoryPropertyFlags want, vk::MemoryPropertyFlags avoid) const {
  for (int pass = 0; pass < 2; ++pass)
    for (uint32_t i = 0; i < memory_props_.memoryTypeCount; ++i) {
      if (!(type_bits & (1u << i))) continue;
      const auto flags = memory_props_.memoryTypes[i].propertyFlags;
      if ((flags & want) != want) continue;
      if (pass == 0 && (flags & avoid)) continue;
      return i;
    }
  return UINT32_MAX;
}

Buffer Device::create_buffer_with(uint64_t bytes, vk::BufferUsageFlags usage, bool host_visible) {
  if (bytes == 0) throw std::invalid_argument("cannot create an empty buffer");
  if (traits_.max_memory_allocation_size && bytes > traits_.max_memory_allocation_size)
    throw std::runtime_error("buffer of " + std::to_string(bytes) + " bytes exceeds the device's maxMemoryAllocationSize (" +
                             std::to_string(traits_.max_memory_allocation_size) + ") on " + traits_.name);
  Buffer b;
  b.bytes_ = bytes;
  auto out_of_memory = [&](const char* call, VkResult r) {
    return vk_errors::VulkanError(call, r,
                                  std::to_string(bytes) + " bytes of " + (host_visible ? "host-visible staging" : "device") +
                                      " memory on " + traits_.name + "; " + std::to_string(allocated_bytes_) +
                                      " bytes already allocated by lockstep");
  };
  const uint64_t allocated = (bytes + 15) / 16 * 16;  // whole vec4s / RGBA32F texels
  try {
    b.buffer_ = vk::raii::Buffer(device_, vk::BufferCreateInfo({}, allocated, usage, vk::SharingMode::eExclusive));
  } catch (const vk::OutOfDeviceMemoryError&) {
    throw out_of_memory("vkCreateBuffer", VK_ERROR_OUT_OF_DEVICE_MEMORY);
  } catch (const vk::OutOfHostMemoryError&) {
    throw out_of_memory("vkCreateBuffer", VK_ERROR_OUT_OF_HOST_MEMORY);
  }
  const auto req = b.buffer_.getMemoryRequirements();
  uint32_t type;
  if (host_visible) {
    type = memory_type(req.memoryTypeBits, vk::MemoryPropertyFlagBits::eHostVisible | vk::MemoryPropertyFlagBits::eHostCoherent);
    if (type == UINT32_MAX) type = memory_type(req.memoryTypeBits, vk::MemoryPropertyFlagBits::eHostVisible);
  } else {
    type = memory_type(req.memoryTypeBits, vk::MemoryPropertyFlagBits::eDeviceLocal);
    if (type == UINT32_MAX) type = memory_type(req.memoryTypeBits, {});
  }
  if (type == UINT32_MAX)
    throw vk_errors::VulkanError("vkAllocateMemory", VK_ERROR_FEATURE_NOT_PRESENT,
                                 std::string("no suitable memory type on ") + traits_.name);
  const auto flags = memory_props_.memoryTypes[type].propertyFlags;
  b.host_visible_ = bool(flags & vk::MemoryPropertyFlagBits::eHostVisible);
  b.host_coherent_ = bool(flags & vk::MemoryPropertyFlagBits::eHostCoherent);
  try {
    if (fault::hit("vk.alloc")) throw vk::OutOfDeviceMemoryError("vkAllocateMemory (injected: LOCKSTEP_FAULT=vk.alloc)");
    b.memory_ = vk::raii::DeviceMemory(device_, vk::MemoryAllocateInfo(req.size, type));
  } catch (const vk::OutOfDeviceMemoryError&) {
    throw out_of_memory("vkAllocateMemory", VK_ERROR_OUT_OF_DEVICE_MEMORY);
  } catch (const vk::OutOfHostMemoryError&) {
    throw out_of_memory("vkAllocateMemory", VK_ERROR_OUT_OF_HOST_MEMORY);
  }
  b.buffer_.bindMemory(*b.memory_, 0);
  b.counter_ = &allocated_bytes_;
  allocated_bytes_ += req.size;
  b.counted_ = req.size;
  return b;
}

Buffer Device::create_buffer(uint64_t bytes) {
  vk::BufferUsageFlags usage = vk::BufferUsageFlagBits::eStorageBuffer | vk::BufferUsageFlagBits::eTransferSrc |
                               vk::BufferUsageFlagBits::eTransferDst;
  if (traits_.texel_buffer_rgba32f) usage |= vk::BufferUsageFlagBits::eUniformTexelBuffer;
  if (traits_.texel_store_rgba32f) usage |= vk::BufferUsageFlagBits::eStorageTexelBuffer;
  return create_buffer_with(bytes, usage, false);
}

void Device::upload(Buffer& dst, const void* src, uint64_t bytes, uint64_t dst_offset) {
  if (bytes == 0) return;
  if (dst_offset + bytes > dst.bytes())
    throw std::out_of_range("upload of " + std::to_string(bytes) + " bytes at offset " + std::to_string(dst_offset) +
                            " overruns a " + std::to_string(dst.bytes()) + "-byte buffer");
  Buffer staging = create_buffer_with(bytes, vk::BufferUsageFlagBits::eTransferSrc, true);
  void* p = staging.memory_.mapMemory(0, bytes);
  std::memcpy(p, src, bytes);
  if (!staging.host_coherent_) device_.flushMappedMemoryRanges(vk::MappedMemoryRange(*staging.memory_, 0, VK_WHOLE_SIZE));
  staging.memory_.unmapMemory();
  run_commands([&](vk::CommandBuffer cb) {
    cb.copyBuffer(staging.handle(), dst.handle(), vk::BufferCopy(0, dst_offset, bytes));
    vk::MemoryBarrier mb(vk::AccessFlagBits::eTransferWrite, vk::AccessFlagBits::eShaderRead | vk::AccessFlagBits::eShaderWrite);
    cb.pipelineBarrier(vk::PipelineStageFlagBits::eTransfer, vk::PipelineStageFlagBits::eComputeShader, {}, mb, {}, {});
  });
}

void Device::download(const Buffer& src, void* dst, uint64_t bytes, uint64_t src_offset) {
  if (bytes == 0) return;
  if (src_offset + bytes > src.bytes())
    throw std::out_of_range("download of " + std::to_string(bytes) + " bytes at offset " + std::to_string(src_offset) +
                            " overruns a " + std::to_string(src.bytes()) + "-byte buffer");
  Buffer staging = create_buffer_with(bytes, vk::BufferUsageFlagBits::eTransferDst, true);
  run_commands([&](vk::CommandBuffer cb) {
    vk::MemoryBarrier before(vk::AccessFlagBits::eShaderWrite, vk::AccessFlagBits::eTransferRead);
    cb.pipelineBarrier(vk::PipelineStageFlagBits::eComputeShader, vk::PipelineStageFlagBits::eTransfer, {}, before, {}, {});
    cb.copyBuffer(src.handle(), staging.handle(), vk::BufferCopy(src_offset, 0, bytes));
    vk::MemoryBarrier after(vk::AccessFlagBits::eTransferWrite, vk::AccessFlagBits::eHostRead);
    cb.pipelineBarrier(vk::PipelineStageFlagBits::eTransfer, vk::PipelineStageFlagBits::eHost, {}, after, {}, {});
  });
  void* p = staging.memory_.mapMemory(0, bytes);
  if (!staging.host_coherent_)
    device_.invalidateMappedMemoryRanges(vk::MappedMemoryRange(*staging.memory_, 0, VK_WHOLE_SIZE));
  std::memcpy(dst, p, bytes);
  staging.memory_.unmapMemory();
}

void Device::fill_zero(Buffer& dst) {
  run_commands([&](vk::CommandBuffer cb) {
    cb.fillBuffer(dst.handle(), 0, VK_WHOLE_SIZE, 0u);
    vk::MemoryBarrier mb(vk::AccessFlagBits::eTransferWrite, vk::AccessFlagBits::eShaderRead | vk::AccessFlagBits::eShaderWrite);
    cb.pipelineBarrier(vk::PipelineStageFlagBits::eTransfer, vk::PipelineStageFlagBits::eComputeShader, {}, mb, {}, {});
  });
}

vk::raii::CommandBuffer Device::allocate_command_buffer() {
  vk::raii::CommandBuffers cbs(device_, vk::CommandBufferAllocateInfo(*pool_, vk::CommandBufferLevel::ePrimary, 1));
  return std::move(cbs.front());
}

void Device::run_commands(const std::function<void(vk::CommandBuffer)>& record) {
  auto cb = allocate_command_buffer();
  cb.begin(vk::CommandBufferBeginInfo(vk::CommandBufferUsageFlagBits::eOneTimeSubmit));
  record(*cb);
  cb.end();
  submit_and_wait(*cb, "transfer");
}

void Device::submit_and_wait(vk::CommandBuffer cb, const char* what) {
  if (lost_) throw vk_errors::VulkanError("vkQueueSubmit", VK_ERROR_DEVICE_LOST, "the device " + traits_.name + " was lost earlier");
  // Between submissions is where an interrupt (SIGINT) stops a run: nothing is in flight.
  if (fault::hit("sigint")) std::raise(SIGINT);
  interrupt::check((std::string("before ") + what + " on " + traits_.name).c_str());
  device_.resetFences(*fence_);
  try {
    if (fault::hit("vk.submit")) throw vk::DeviceLostError("vkQueueSubmit (injected: LOCKSTEP_FAULT=vk.submit)");
    queue_.submit(vk::SubmitInfo({}, {}, cb), *fence_);
  } catch (const vk::DeviceLostError&) {
    throw device_lost("vkQueueSubmit", what);
  }
  const uint64_t ns = static_cast<uint64_t>(fence_timeout_.count()) * 1000000ull;
  vk::Result r;
  try {
    r = device_.waitForFences(*fence_, VK_TRUE, ns);
    if (fault::hit("vk.wait")) {
      // The work really runs on this device: let it finish before pretending it was lost, so that
      // no buffer is destroyed under it.
      (void)device_.waitForFences(*fence_, VK_TRUE, 30ull * 1000000000ull);
      throw vk::DeviceLostError("vkWaitForFences (injected: LOCKSTEP_FAULT=vk.wait)");
    }
  } catch (const vk::DeviceLostError&) {
    throw device_lost("vkWaitForFences", what);
  }
  if (r == vk::Result::eTimeout) {
    // The queue still owns the work: give it a bounded grace period to drain so that the
    // buffers it uses are not destroyed under it; the caller gets the timeout either way.
    const uint64_t grace_ns = 30ull * 1000000000ull;
    if (device_.waitForFences(*fence_, VK_TRUE, grace_ns) == vk::Result::eTimeout) {
      // Work that never finishes still reads and writes our buffers: destroying them (which
      // unwinding the exception would do) is undefined behaviour that crashes drivers. Nothing
      // can be released safely, so the process ends here with the error status.
      std::fprintf(stderr,
                   "lockstep: error: vkWaitForFences: VK_TIMEOUT: %s on %s did not finish within %lld ms nor in a 30 s "
                   "grace period after it; exiting without releasing the device's resources, which it still uses "
                   "(LOCKSTEP_FENCE_TIMEOUT_MS sets the limit)\n",
                   what, traits_.name.c_str(), static_cast<long long>(fence_timeout_.count()));
      std::fflush(stderr);
      std::_Exit(2);
    }
    throw vk_errors::VulkanError("vkWaitForFences", VK_TIMEOUT,
                                 std::string(what) + " did not finish within " + std::to_string(fence_timeout_.count()) +
                                     " ms on " + traits_.name + " (LOCKSTEP_FENCE_TIMEOUT_MS sets the limit)");
  }
  interrupt::check((std::string("after ") + what + " on " + traits_.name).c_str());
}

vk_errors::VulkanError Device::device_lost(const char* call, const char* what) {
  lost_ = true;
  return vk_errors::VulkanError(call, VK_ERROR_DEVICE_LOST,
                                std::string("the device ") + traits_.name + " was lost during " + what +
                                    ": a driver reset, a GPU hang or fault, or the device was removed; no result of "
                                    "this run is usable");
}

void Device::set_max_binding_bytes(uint64_t b) {
  if (b < 1024) throw std::invalid_argument("binding limit below 1 KiB");
  max_binding_bytes_ = std::min<uint64_t>(b, traits_.max_storage_buffer_range);
}

uint32_t Device::subgroup_workgroup_size() const {
  const uint32_t sg = std::max<uint32_t>(1, std::max(traits_.max_subgroup_size, traits_.subgroup_size));
  uint32_t wg = std::max<uint32_t>(64, sg);
  wg = (wg + sg - 1) / sg * sg;
  return std::min(wg, traits_.max_workgroup_invocations);
}

std::string Device::fixed_variant(const std::string& base, const NumericMode& m) const {
  std::string v = base;
  if (traits_.rounding_rte_f32) v += "+rte";
  if (m.fixed() && m.denorm == DenormRule::Preserve && traits_.denorm_preserve_f32) v += "+dp";
  return v;
}

void Device::require(const NumericMode& m) const {
  if (auto why = traits_.refusal(m))
    throw std::runtime_error("device " + std::to_string(index_) + " '" + traits_.name + "' cannot run " + describe(m) +
                             ": " + *why);
}

const Kernel& Device::kernel(const KernelDesc& desc) {
  const std::string key = desc.key();
  if (auto it = kernels_.find(key); it != kernels_.end()) return *it->second;
  if (desc.workgroup_size == 0 || desc.workgroup_size > traits_.max_workgroup_invocations)
    throw std::invalid_argument("workgroup size " + std::to_string(desc.workgroup_size) + " for " + desc.shader +
                                " exceeds the device's maxComputeWorkGroupInvocations (" +
                                std::to_string(traits_.max_workgroup_invocations) + ")");
  const auto& spv = shaders::find(desc.shader);
  auto k = std::make_unique<Kernel>();
  k->desc = desc;
  std::vector<vk::DescriptorSetLayoutBinding> bindings;
  if (desc.texel_bindings && !traits_.texel_buffer_rgba32f)
    throw std::invalid_argument(desc.shader + ": texel buffers requested but " + traits_.name +
                                " cannot read RGBA32F uniform texel buffers");
  if (desc.store_texel_bindings && !traits_.texel_store_rgba32f)
    throw std::invalid_argument(desc.shader + ": texel stores requested but " + traits_.name +
                                " cannot write RGBA32F storage texel buffers");
  if (desc.texel_bindings & desc.store_texel_bindings)
    throw std::invalid_argument(desc.shader + ": a binding cannot be both a uniform and a storage texel buffer");
  for (uint32_t i = 0; i < desc.bindings; ++i)
    bindings.emplace_back(i, desc.descriptor_type(i), 1, vk::ShaderStageFlagBits::eCompute);
  k->set_layout = vk::raii::DescriptorSetLayout(device_, vk::DescriptorSetLayoutCreateInfo({}, bindings));
  vk::PushConstantRange range(vk::ShaderStageFlagBits::eCompute, 0, desc.push_bytes);
  vk::PipelineLayoutCreateInfo li({}, *k->set_layout);
  if (desc.push_bytes) li.setPushConstantRanges(range);
  k->layout = vk::raii::PipelineLayout(device_, li);

  vk::raii::ShaderModule module(device_, vk::ShaderModuleCreateInfo({}, spv.word_count * 4, spv.words));
  std::vector<vk::SpecializationMapEntry> entries;
  std::vector<uint32_t> values;
  entries.emplace_back(100, 0, 4);
  values.push_back(desc.workgroup_size);
  for (const auto& s : desc.spec) {
    entries.emplace_back(s.id, static_cast<uint32_t>(values.size() * 4), 4);
    values.push_back(s.value);
  }
  vk::SpecializationInfo si;
  si.mapEntryCount = static_cast<uint32_t>(entries.size());
  si.pMapEntries = entries.data();
  si.dataSize = values.size() * 4;
  si.pData = values.data();
  vk::PipelineShaderStageCreateInfo stage({}, vk::ShaderStageFlagBits::eCompute, *module, "main", &si);
  if (desc.full_subgroups && enabled_size_control_) {
    const uint32_t max_sg = std::max<uint32_t>(1, traits_.max_subgroup_size);
    if (desc.workgroup_size % max_sg == 0) stage.flags |= vk::PipelineShaderStageCreateFlagBits::eRequireFullSubgroupsEXT;
  }
  k->pipeline = vk::raii::Pipeline(device_, pipeline_cache_, vk::ComputePipelineCreateInfo({}, stage, *k->layout));
  auto& ref = *k;
  kernels_.emplace(key, std::move(k));
  return ref;
}

}  // namespace lockstep
