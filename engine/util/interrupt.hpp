// Interrupted runs: SIGINT (Ctrl-C) and SIGTERM only set a flag; the engine looks at it between
// steps (before and after each queue submission, between layers of the CPU reference, between
// chunks of a file write, while a child process parses a Keras file) and unwinds with
// Interrupted, so that GPU work in flight completes, every Vulkan object is destroyed, and
// temporary files are removed. The CLI then exits with 128 + the signal number (130 for SIGINT).
// A second signal kills the process at once (the default action).
#pragma once
#include <stdexcept>
#include <string>

namespace lockstep::interrupt {

class Interrupted : public std::runtime_error {
 public:
  Interrupted(int signal, const std::string& where);
  int signal() const { return signal_; }

 private:
  int signal_;
};

// Installs the SIGINT and SIGTERM handlers (the CLI calls this once at start).
void install_handlers();
// The signal received (SIGINT, SIGTERM), or 0.
int requested();
// Throws Interrupted naming `where` ("before a compute sequence") when a signal was received.
void check(const char* where);
// For tests: as if `signal` had been received; 0 clears.
void set_requested_for_testing(int signal);

}  // namespace lockstep::interrupt
