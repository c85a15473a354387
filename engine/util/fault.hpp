// Fault injection, for the fault tests: LOCKSTEP_FAULT names the points where the engine then
// fails as if the system had failed there, e.g.
//   LOCKSTEP_FAULT=vk.alloc@3      the 3rd device-memory allocation: VK_ERROR_OUT_OF_DEVICE_MEMORY
//   LOCKSTEP_FAULT=vk.submit@2     the 2nd queue submission: VK_ERROR_DEVICE_LOST
//   LOCKSTEP_FAULT=vk.wait         the 1st fence wait: VK_ERROR_DEVICE_LOST
//   LOCKSTEP_FAULT=write           the 1st file write: ENOSPC (disk full), after half the bytes
//   LOCKSTEP_FAULT=read@2          the 2nd file read: EIO
//   LOCKSTEP_FAULT=sigint@5        raise(SIGINT) at the 5th queue submission (an interrupted run)
// "point@N" fails the N-th pass only, "point@N+" the N-th and every later one; several points are
// separated by commas. Each point counts its own passes, in every thread. Without the variable
// nothing fails and hit() costs one atomic load. The list of points is in README.md
// ("Reliability"). Not a user feature: a way to make every error path run in a test.
#pragma once
#include <string>
#include <string_view>

namespace lockstep::fault {

// Counts a pass through `point`; true when this pass is to fail.
bool hit(std::string_view point);

// Replaces the configuration (as if LOCKSTEP_FAULT were `spec`) and resets the counters: for
// in-process tests. An empty spec turns injection off. Throws std::invalid_argument on a
// malformed spec.
void configure(const std::string& spec);

}  // namespace lockstep::fault
