// One Vulkan context and device for the whole test process, created on first use with the
// validation layer on (where installed); every validation message fails the run.
#pragma once
#include "vk/context.hpp"
#include "vk/device.hpp"

namespace lockstep::onnx::test {

Context& context();
Device& device();
// Fails the current test if the validation layer has reported anything so far.
void expect_no_validation_messages();

}  // namespace lockstep::onnx::test
