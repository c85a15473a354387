#include "child_process.hpp"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

extern char** environ;

namespace lockstep::cli {

namespace {

using Clock = std::chrono::steady_clock;

std::string tail_of(const std::string& path, size_t max_bytes = 4096) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > std::streamoff(max_bytes) ? size - std::streamoff(max_bytes) : 0;
  in.seekg(start);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (start > 0) {
    const size_t nl = s.find('\n');
    if (nl != std::string::npos) s = s.substr(nl + 1);
  }
  // Progress lines use carriage returns; keep what the last one left.
  return s;
}

struct Running {
  pid_t pid = -1;
  Clock::time_point start;
};

// Everything the child needs is built before fork(): between fork and exec only
// async-signal-safe calls are allowed (the parent has other threads).
struct Prepared {
  std::vector<std::string> args, env;
  std::vector<char*> argv, envp;
};

Prepared prepare(const ChildSpec& spec) {
  Prepared p;
  p.args = spec.argv;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string name = kv.substr(0, kv.find('='));
    const bool replaced = std::any_of(spec.env.begin(), spec.env.end(), [&](const auto& v) { return v.first == name; });
    if (!replaced) p.env.push_back(kv);
  }
  for (const auto& [k, v] : spec.env) p.env.push_back(k + "=" + v);
  for (auto& a : p.args) p.argv.push_back(a.data());
  p.argv.push_back(nullptr);
  for (auto& e : p.env) p.envp.push_back(e.data());
  p.envp.push_back(nullptr);
  return p;
}

pid_t spawn(const ChildSpec& spec) {
  if (spec.argv.empty()) throw std::invalid_argument("child process without a program");
  Prepared p = prepare(spec);
  const int log = ::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0) throw std::runtime_error(spec.log_path + ": cannot create the child's log: " + std::strerror(errno));
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
#ifdef __linux__
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the parent died before prctl
#endif
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execve(p.argv[0], p.argv.data(), p.envp.data());
    static const char msg[] = "lockstep: cannot execute the child process\n";
    [[maybe_unused]] auto w = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(log);
  return pid;
}

}  // namespace

std::string ChildOutcome::describe(std::chrono::seconds timeout) const {
  if (!started) return "could not be started";
  if (timed_out) return "timed out after " + std::to_string(timeout.count()) + " s and was killed";
  if (!exited) return "was killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  if (status == 127) return "exited with status 127 (the program could not be executed)";
  return "exited with status " + std::to_string(status);
}

std::vector<ChildOutcome> run_children(const std::vector<ChildSpec>& specs, unsigned jobs,
                                       std::chrono::seconds timeout) {
  std::vector<ChildOutcome> out(specs.size());
  std::vector<Running> running(specs.size());
  const size_t limit = jobs == 0 ? specs.size() : jobs;
  size_t next = 0, active = 0, done = 0;
  while (done < specs.size()) {
    while (active < limit && next < specs.size()) {
      running[next].start = Clock::now();
      try {
        running[next].pid = spawn(specs[next]);
        out[next].started = true;
        active++;
      } catch (const std::exception& e) {
        out[next].log_tail = e.what();
        done++;
      }
      next++;
    }
    bool reaped = false;
    for (size_t k = 0; k < next; ++k) {
      Running& r = running[k];
      if (r.pid <= 0) continue;
      int st = 0;
      const pid_t w = ::waitpid(r.pid, &st, WNOHANG);
      const double secs = std::chrono::duration<double>(Clock::now() - r.start).count();
      if (w == 0 && secs <= double(timeout.count())) continue;
      if (w == 0) {  // past its time: kill it, then reap it
        out[k].timed_out = true;
        ::kill(r.pid, SIGKILL);
        ::waitpid(r.pid, &st, 0);
      } else if (w < 0) {
        st = 0;
        out[k].exited = false;
      }
      out[k].seconds = secs;
      if (WIFEXITED(st)) {
        out[k].exited = true;
        out[k].status = WEXITSTATUS(st);
      } else if (WIFSIGNALED(st)) {
        out[k].signal = WTERMSIG(st);
      }
      out[k].log_tail = tail_of(specs[k].log_path);
      r.pid = -1;
      active--;
      done++;
      reaped = true;
    }
    if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return out;
}

std::string self_executable() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find the lockstep executable (/proc/self/exe): " + ec.message());
  return p.string();
}

}  // namespace lockstep::cli
