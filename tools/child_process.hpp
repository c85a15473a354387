// Child processes for `lockstep check --variant`: lockstep run again under a changed
// environment, output to a log file, every child bounded by a timeout (killed when it runs
// past it), at most `jobs` at once.
#pragma once
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace lockstep::cli {

struct ChildSpec {
  std::vector<std::string> argv;                           // argv[0]: the program's path
  std::vector<std::pair<std::string, std::string>> env;    // set (or replaced) in the child
  std::string log_path;                                    // stdout and stderr, truncated first
};

struct ChildOutcome {
  bool started = false;
  bool timed_out = false;
  bool exited = false;  // exited normally (status valid); otherwise killed by `signal`
  int status = -1;
  int signal = 0;
  double seconds = 0;
  std::string log_tail;  // the last lines of the log (up to ~4 KiB)

  bool ok() const { return started && exited && status == 0 && !timed_out; }
  // "exited with status 2", "was killed by signal 11 (Segmentation fault)", "timed out after 30 s".
  std::string describe(std::chrono::seconds timeout) const;
};

// Runs every spec, at most `jobs` at a time (0: all at once); a child still running `timeout`
// after it started is killed (SIGKILL). Children die with the parent (PR_SET_PDEATHSIG).
std::vector<ChildOutcome> run_children(const std::vector<ChildSpec>& specs, unsigned jobs,
                                       std::chrono::seconds timeout);

// The running executable's path (/proc/self/exe), for re-running lockstep.
std::string self_executable();

}  // namespace lockstep::cli
