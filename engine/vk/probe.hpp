// The start-up probe: runs shaders/probe.comp and fills the measured part of DeviceTraits.
#pragma once
#include "vk/traits.hpp"

namespace lockstep {

class Device;
void probe_device(Device& device, DeviceTraits& traits);

}  // namespace lockstep
