// The one include for Vulkan in the engine (precompiled): vulkan_raii.hpp owns every handle.
#pragma once
#include <vulkan/vulkan_raii.hpp>
