// What every op's host file shares: choosing the shader variant and the contract's
// specialization constants, and sizing 1-D dispatches.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "numerics/contract.hpp"
#include "vk/device.hpp"

namespace lockstep::ops {

// Specialization constant ids shared by the shaders (shaders/fixed_arith.glsl and op files).
inline constexpr uint32_t kSpecMacFma = 0, kSpecFtz = 1, kSpecFlagA = 8, kSpecFlagB = 9;

// The kernel for `mode`: in fixed order `fixed_shader` in the variant the device needs, with
// the MAC and denormal constants; in free order `free_shader` (which may be the same file).
// Refuses (throws) a fixed contract the device cannot honour.
KernelDesc kernel_for(Device& device, const NumericMode& mode, const std::string& fixed_shader,
                      const std::string& free_shader, uint32_t bindings, uint32_t push_bytes, uint32_t workgroup_size,
                      std::vector<SpecConstant> extra = {}, bool full_subgroups = false);

inline uint64_t groups_for(uint64_t items, uint32_t per_group) { return (items + per_group - 1) / per_group; }

// Workgroup size for one-invocation-per-element kernels.
inline constexpr uint32_t kElementWorkgroup = 64;

}  // namespace lockstep::ops
