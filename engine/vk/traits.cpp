#include "vk/traits.hpp"

#include <sstream>

namespace lockstep {

std::string hex(const std::array<uint8_t, 16>& bytes) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) {
    s += d[b >> 4];
    s += d[b & 15];
  }
  return s;
}

std::string vendor_name(uint32_t id, const std::string& driver_name) {
  switch (id) {
    case 0x10DE: return "NVIDIA";
    case 0x1002: return "AMD";
    case 0x1022: return "AMD";
    case 0x8086: return "Intel";
    case 0x106B: return "Apple";
    case 0x13B5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x1010: return "ImgTec";
    case 0x10005: return "Mesa";
    default: break;
  }
  return driver_name.empty() ? "unknown" : driver_name;
}

bool DeviceTraits::is_lavapipe() const { return driver_name.find("llvmpipe") != std::string::npos || name.find("llvmpipe") != std::string::npos; }

std::optional<std::string> DeviceTraits::refusal(const NumericMode& m) const {
  if (!m.fixed()) return std::nullopt;
  if (!probe_ran) return "the device probe did not run";
  if (!subgroup_shuffle)
    return "it does not support subgroup shuffles in compute shaders, which build the fixed tree";
  if (!rounding_rte_f32 && !rounds_nearest_even)
    return "it cannot request RoundingModeRTE and its default rounding did not match round-to-nearest-even in the probe";
  if (m.mac == MacContract::Fma && !fma_fused) {
    std::ostringstream s;
    s << "GLSL fma() is not fused here (the probe found " << fma_fused_cases << " of " << fma_cases
      << " distinguishing cases fused, " << fma_unfused_cases << " rounded twice)"
      << (khr_shader_fma ? "" : " and VK_KHR_shader_fma is not exposed");
    return s.str();
  }
  if (m.denorm == DenormRule::Preserve && !denormals_preserved && !denorm_preserve_f32)
    return std::string("it flushes denormals (operands ") + (denormal_operands_flushed ? "flushed" : "kept") +
           ", results " + (denormal_results_flushed ? "flushed" : "kept") +
           ") and does not support the DenormPreserve execution mode; use --denormals ftz";
  return std::nullopt;
}

std::string DeviceTraits::summary() const {
  std::ostringstream s;
  auto yn = [](bool b) { return b ? "yes" : "no"; };
  s << "name: " << name << "\n"
    << "vendor: " << vendor << " (0x" << std::hex << vendor_id << "), device id 0x" << device_id << std::dec << ", "
    << device_type << "\n"
    << "driver: " << driver_name << " " << driver_info << " (version 0x" << std::hex << driver_version << std::dec
    << ")\n"
    << "device uuid: " << hex(device_uuid) << "\n"
    << "subgroup size: " << subgroup_size << " (measured " << subgroup_size_measured << ", range " << min_subgroup_size
    << ".." << max_subgroup_size << (subgroup_size_control ? ", size control" : "") << ")\n"
    << "subgroup ops: basic " << yn(subgroup_basic) << ", arithmetic " << yn(subgroup_arithmetic) << ", shuffle "
    << yn(subgroup_shuffle) << "\n"
    << "float controls (f32): denorm preserve " << yn(denorm_preserve_f32) << ", denorm flush " << yn(denorm_flush_f32)
    << ", RTE " << yn(rounding_rte_f32) << ", RTZ " << yn(rounding_rtz_f32) << ", signed zero/inf/nan preserve "
    << yn(signed_zero_inf_nan_preserve_f32) << "\n"
    << "VK_KHR_shader_fma: " << yn(khr_shader_fma) << "\n"
    << "probe: fma() fused " << yn(fma_fused) << " (" << fma_fused_cases << " fused, " << fma_unfused_cases
    << " two roundings, of " << fma_cases << " cases); denormals preserved " << yn(denormals_preserved)
    << " (operands flushed " << yn(denormal_operands_flushed) << ", results flushed " << yn(denormal_results_flushed)
    << "); default rounding nearest-even " << yn(rounds_nearest_even) << "; texel fetch exact "
    << yn(texel_fetch_exact) << "; texel store exact " << yn(texel_store_exact) << "\n"
    << "limits: maxStorageBufferRange " << max_storage_buffer_range << ", maxMemoryAllocationSize "
    << max_memory_allocation_size << ", maxComputeWorkGroupInvocations " << max_workgroup_invocations
    << ", shared memory " << max_shared_memory << ", maxTexelBufferElements " << max_texel_buffer_elements
    << (texel_buffer_rgba32f ? "" : " (no RGBA32F texel buffers)") << ", device-local " << device_local_bytes
    << " bytes\n"
    << "timestamps: " << yn(timestamps) << " (period " << timestamp_period_ns << " ns, " << timestamp_valid_bits
    << " bits)\n";
  s << "fixed contracts:";
  for (auto mac : {MacContract::MulAdd, MacContract::Fma})
    for (auto dn : {DenormRule::Preserve, DenormRule::Ftz}) {
      NumericMode m{Order::Fixed, mac, dn};
      s << " " << describe(m).substr(6) << "=" << (refusal(m) ? "refused" : "ok");
    }
  s << "\n";
  return s.str();
}

}  // namespace lockstep
