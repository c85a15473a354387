// Runs the lockstep CLI as a child process with extra environment variables, capturing its
// combined output, with a time limit; optionally sends it a signal after a delay (the interrupt
// tests). Everything the fault tests check goes through here: the exit status, the message, and
// the files left behind.
#pragma once
#include <csignal>
#include <string>
#include <vector>

namespace lockstep::test {

struct CliResult {
  int exit_code = -1;  // -1: killed by a signal (see signal)
  int signal = 0;
  std::string output;  // stdout and stderr together
  double seconds = 0;
};

struct CliOptions {
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing in) this environment
  int send_signal = 0;            // sent after signal_after_s seconds, if still running
  double signal_after_s = 0;
  double timeout_s = 600;         // SIGKILL after this
};

CliResult run_cli(const std::vector<std::string>& args, const CliOptions& options = {});

}  // namespace lockstep::test
