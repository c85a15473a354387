// One Vulkan context and device per test process (the device named by LOCKSTEP_TEST_DEVICE,
// default 0), the validation layer on where installed; after the last test, any validation
// message fails the run.
#pragma once
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "conformance/op_suite.hpp"
#include "vk/context.hpp"
#include "vk/device.hpp"

namespace lockstep::test {

Context& context();
Device& device();

// The op suite's runs for one op on the test device (computed once per op).
const std::vector<conformance::OpRun>& suite_runs(const std::string& op);

// Every fixed-order run that the device did not refuse equals the CPU reference bit for bit;
// at least the muladd contract ran.
void expect_fixed_bit_exact(const std::string& op);
// Free order is within `free_tolerance` (relative RMS) of the float64 oracle with no spurious
// inf/NaN, and fixed order's error, summed over the op's cases, is at most twice free order's.
// Prints both for the record.
void expect_accuracy(const std::string& op, double free_tolerance);

}  // namespace lockstep::test
