#include "util/interrupt.hpp"

#include <atomic>
#include <csignal>
#include <cstring>

#include <unistd.h>

namespace lockstep::interrupt {

namespace {

std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free flag");

void on_signal(int sig) {
  g_signal.store(sig);
  // write(2) is async-signal-safe; stdio is not.
  static const char msg[] =
      "\nlockstep: interrupted: stopping after the current step (send the signal again to kill at once)\n";
  ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
}

}  // namespace

Interrupted::Interrupted(int signal, const std::string& where)
    : std::runtime_error(std::string("interrupted by ") + (signal == SIGTERM ? "SIGTERM" : "SIGINT") + " " + where),
      signal_(signal) {}

void install_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  // SA_RESETHAND: the second signal takes the default action (terminate). SA_RESTART: system
  // calls in libraries that do not expect EINTR (file reads, the Vulkan driver) are restarted.
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int requested() { return g_signal.load(std::memory_order_relaxed); }

void check(const char* where) {
  if (const int sig = requested()) throw Interrupted(sig, where);
}

void set_requested_for_testing(int signal) { g_signal.store(signal); }

}  // namespace lockstep::interrupt
