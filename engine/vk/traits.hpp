// What a device is and what it really does with floats: read from its properties and measured
// by the start-up probe (probe.cpp). These decide which fixed-order contracts it may run and
// go into every result.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "numerics/contract.hpp"

namespace lockstep {

struct DeviceTraits {
  // Identity
  std::string name;
  uint32_t vendor_id = 0, device_id = 0;
  std::string vendor;        // "NVIDIA", "AMD", "Intel", "Apple", "ARM", "Qualcomm", "Mesa", ...
  std::string device_type;   // "discrete", "integrated", "virtual", "cpu", "other"
  std::string driver_name, driver_info;
  uint32_t driver_version = 0, api_version = 0;
  std::array<uint8_t, 16> device_uuid{};
  std::array<uint8_t, 16> pipeline_cache_uuid{};

  // Limits
  uint64_t max_storage_buffer_range = 0;
  uint64_t max_memory_allocation_size = 0;
  uint64_t min_storage_buffer_offset_alignment = 0;
  uint32_t max_workgroup_invocations = 0;
  uint32_t max_workgroup_count_x = 0;
  uint32_t max_workgroup_count_y = 0;
  uint32_t max_shared_memory = 0;
  uint64_t max_texel_buffer_elements = 0;
  uint64_t min_texel_buffer_offset_alignment = 0;
  bool texel_buffer_rgba32f = false;  // R32G32B32A32_SFLOAT uniform texel buffers (mandatory in Vulkan)
  bool texel_store_rgba32f = false;   // ... and storage texel buffers (mandatory too)
  uint64_t device_local_bytes = 0;
  bool timestamps = false;
  float timestamp_period_ns = 0.0f;
  uint32_t timestamp_valid_bits = 0;

  // Subgroups
  uint32_t subgroup_size = 0;          // reported
  uint32_t subgroup_size_measured = 0; // gl_SubgroupSize seen by the probe shader
  uint32_t min_subgroup_size = 0, max_subgroup_size = 0;  // VK_EXT_subgroup_size_control
  bool subgroup_size_control = false;
  bool compute_full_subgroups = false;
  bool subgroup_basic = false, subgroup_arithmetic = false, subgroup_shuffle = false;

  // Float controls (Vulkan 1.2 properties)
  bool denorm_preserve_f32 = false, denorm_flush_f32 = false;
  bool rounding_rte_f32 = false, rounding_rtz_f32 = false;
  bool signed_zero_inf_nan_preserve_f32 = false;
  bool khr_shader_fma = false;  // VK_KHR_shader_fma exposed
  bool shader_float16 = false;  // shaderFloat16 (enabled on the device when present)

  // Measured by the probe
  bool probe_ran = false;
  uint32_t fma_cases = 0;         // inputs where fused and unfused results differ
  uint32_t fma_fused_cases = 0;   // of those, how many GLSL fma() returned the fused result
  uint32_t fma_unfused_cases = 0; // ... and the two-rounding result
  bool fma_fused = false;         // every distinguishing case fused
  bool denormals_preserved = false;   // denormal operands and results survive add and mul
  bool denormal_operands_flushed = false;
  bool denormal_results_flushed = false;
  bool rounds_nearest_even = false;   // default add/mul rounding matched RTE on tie and non-tie cases
  bool texel_fetch_exact = false;     // texelFetch of RGBA32F returned every bit pattern unchanged
                                      // (denormals, -0, infinities, NaN payloads)
  bool texel_store_exact = false;     // imageStore to an RGBA32F texel buffer wrote every one unchanged

  bool is_lavapipe() const;

  // Why `m` cannot run here, or nullopt when it can. Free order always runs.
  std::optional<std::string> refusal(const NumericMode& m) const;

  std::string summary() const;  // one line per trait, for `lockstep devices`
};

std::string hex(const std::array<uint8_t, 16>& bytes);
std::string vendor_name(uint32_t vendor_id, const std::string& driver_name);

}  // namespace lockstep
