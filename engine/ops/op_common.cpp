#include "ops/op_common.hpp"

namespace lockstep::ops {

KernelDesc kernel_for(Device& device, const NumericMode& mode, const std::string& fixed_shader,
                      const std::string& free_shader, uint32_t bindings, uint32_t push_bytes, uint32_t workgroup_size,
                      std::vector<SpecConstant> extra, bool full_subgroups) {
  KernelDesc d;
  d.bindings = bindings;
  d.push_bytes = push_bytes;
  d.workgroup_size = workgroup_size;
  d.full_subgroups = full_subgroups;
  if (mode.fixed()) {
    device.require(mode);
    d.shader = device.fixed_variant(fixed_shader, mode);
    d.spec.push_back({kSpecMacFma, mode.mac == MacContract::Fma ? 1u : 0u});
    d.spec.push_back({kSpecFtz, mode.denorm == DenormRule::Ftz ? 1u : 0u});
  } else {
    d.shader = free_shader;
  }
  for (const auto& s : extra) d.spec.push_back(s);
  return d;
}

}  // namespace lockstep::ops
