// load_keras_weights: the untrusted file is parsed by detail::load_keras_weights_in_process in a
// child process (keras_h5.hpp says why). The child streams its answer over a pipe:
//   'P' u64 name_len, name, u64 count, count float32   one parameter
//   'N' u64 len, text                                   a note
//   'E' u64 len, text                                   the loader's own error (exit status 1)
//   'D'                                                 done (exit status 0)
// The parent trusts none of it: names must be parameters of the network, counts must be the
// network's own, texts are bounded, and the child must exit as it said it would.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keras/h5.hpp"
#include "keras/keras_h5.hpp"
#include "util/interrupt.hpp"

namespace lockstep::keras {

namespace {

constexpr uint64_t kMaxText = 1 << 16;      // one note or error message
constexpr size_t kMaxNotes = 4096;
constexpr uint64_t kMaxNameBytes = 4096;

[[noreturn]] void failed(const std::string& path, const std::string& why) {
  throw std::runtime_error("keras weights '" + path + "': the HDF5 library failed on this file (corrupt or malicious): " +
                           why);
}

// ---- child ----------------------------------------------------------------------------------

void put(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(3);  // the parent is gone
    p += w;
    n -= size_t(w);
  }
}
void put_u64(int fd, uint64_t v) { put(fd, &v, 8); }
void put_text(int fd, char kind, const std::string& text) {
  // Names from the file can make a message of any length: keep its start and its end.
  const std::string t = text.size() <= kMaxText ? text
                                                : text.substr(0, kMaxText / 2 - 8) + " [...] " +
                                                      text.substr(text.size() - (kMaxText / 2 - 8));
  put(fd, &kind, 1);
  put_u64(fd, t.size());
  put(fd, t.data(), t.size());
}

uint64_t address_space_in_use() {
  // /proc/self/statm: total program size in pages, first.
  FILE* f = std::fopen("/proc/self/statm", "r");
  unsigned long long pages = 0;
  if (f) {
    if (std::fscanf(f, "%llu", &pages) != 1) pages = 0;
    std::fclose(f);
  }
  return uint64_t(pages) * uint64_t(sysconf(_SC_PAGESIZE));
}

[[noreturn]] void child_main(int fd, graph::Network& net, const std::string& path, const LoadOptions& o,
                             uint64_t cpu_seconds, uint64_t memory_bytes) {
  // Die of what kills us, whatever handlers the parent installed (a crash reporter, the
  // fuzzer's), and make no core file of a crafted input.
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGINT, SIGTERM, SIGXCPU, SIGPIPE}) std::signal(sig, SIG_DFL);
  if (o.child_start_hook) o.child_start_hook(o.hook_data);
  rlimit core{0, 0};
  setrlimit(RLIMIT_CORE, &core);
  rlimit cpu{rlim_t(cpu_seconds), rlim_t(cpu_seconds + 2)};
  setrlimit(RLIMIT_CPU, &cpu);
  const uint64_t in_use = address_space_in_use();
  if (in_use > 0) {
    rlimit as{rlim_t(in_use + memory_bytes), rlim_t(in_use + memory_bytes)};
    setrlimit(RLIMIT_AS, &as);
  }
  int status = 1;
  try {
    std::map<std::string, std::vector<float>> loaded;
    std::vector<std::string> notes;
    detail::load_keras_weights_in_process(net, path, false, loaded, notes);
    for (const auto& [name, values] : loaded) {
      put(fd, "P", 1);
      put_u64(fd, name.size());
      put(fd, name.data(), name.size());
      put_u64(fd, values.size());
      put(fd, values.data(), values.size() * sizeof(float));
    }
    for (const auto& n : notes) put_text(fd, 'N', n);
    put(fd, "D", 1);
    status = 0;
  } catch (const std::bad_alloc&) {
    put_text(fd, 'E', "keras weights '" + path + "': parsing it needs more than " +
                          std::to_string(memory_bytes >> 20) + " MiB of memory (corrupt or malicious file)");
  } catch (const std::exception& e) {
    put_text(fd, 'E', e.what());
  }
  if (o.child_exit_hook) o.child_exit_hook(o.hook_data);
  _exit(status);  // no atexit handlers, no static destructors: they belong to the parent
}

// ---- parent ---------------------------------------------------------------------------------

class PipeReader {
 public:
  PipeReader(int fd, pid_t child, std::chrono::steady_clock::time_point deadline)
      : fd_(fd), child_(child), deadline_(deadline) {}

  // Exactly n bytes; false at end of file (the child exited or closed the pipe).
  bool read(void* dst, size_t n) {
    char* p = static_cast<char*>(dst);
    while (n > 0) {
      interrupt_check();
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline_) {
        timed_out = true;
        return false;
      }
      pollfd pfd{fd_, POLLIN, 0};
      const int ms = int(std::min<int64_t>(
          200, std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now).count() + 1));
      const int r = ::poll(&pfd, 1, ms);
      if (r < 0 && errno != EINTR) return false;
      if (r <= 0) continue;
      const ssize_t got = ::read(fd_, p, n);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return false;
      p += got;
      n -= size_t(got);
    }
    return true;
  }
  bool timed_out = false;

 private:
  void interrupt_check() {
    if (interrupt::requested()) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
      interrupt::check("while a child process parsed a Keras weight file");
    }
  }
  int fd_;
  pid_t child_;
  std::chrono::steady_clock::time_point deadline_;
};

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string signal_text(int sig) {
  const char* d = strsignal(sig);
  return "signal " + std::to_string(sig) + (d ? std::string(" (") + d + ")" : std::string());
}

}  // namespace

void load_keras_weights(graph::Network& net, const std::string& path, std::vector<std::string>* notes,
                        const LoadOptions& o) {
  std::map<std::string, std::vector<float>> loaded;
  std::vector<std::string> my_notes;
  if (!o.isolate) {
    detail::load_keras_weights_in_process(net, path, true, loaded, my_notes);
  } else {
    net.infer_shapes();
    std::map<std::string, uint64_t> expected;
    for (const auto& [name, count] : net.expected_params()) expected[name] = count;
    struct stat st;
    const uint64_t file_bytes = ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? uint64_t(st.st_size) : 0;
    const uint64_t cpu_seconds = o.cpu_seconds ? o.cpu_seconds : 30 + file_bytes / (8u << 20);
    const uint64_t memory_bytes = o.memory_bytes ? o.memory_bytes : (uint64_t(2) << 30) + 3 * file_bytes;

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::runtime_error("keras weights '" + path + "': cannot create a pipe: " + std::strerror(errno));
    Fd read_end{fds[0]}, write_end{fds[1]};
    pid_t pid;
    {
      // No thread of this process is inside libhdf5 while the child's copy of it is made.
      std::lock_guard<std::mutex> lock(h5::library_mutex());
      pid = ::fork();
    }
    if (pid < 0) throw std::runtime_error("keras weights '" + path + "': cannot fork: " + std::strerror(errno));
    if (pid == 0) {
      ::close(read_end.fd);
      child_main(write_end.fd, net, path, o, cpu_seconds, memory_bytes);
    }
    ::close(write_end.fd);
    write_end.fd = -1;

    // Wall-clock bound: the CPU limit, with room for a loaded machine.
    const uint64_t wall_seconds = o.wall_seconds ? o.wall_seconds : 3 * cpu_seconds + 10;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wall_seconds);
    PipeReader in(read_end.fd, pid, deadline);
    bool done = false;
    std::string error, protocol;
    std::set<std::string> seen;
    while (!done && error.empty() && protocol.empty()) {
      char kind = 0;
      if (!in.read(&kind, 1)) break;
      uint64_t len = 0;
      if (kind == 'D') {
        done = true;
      } else if (kind == 'P') {
        std::string name;
        uint64_t count = 0;
        if (!in.read(&len, 8) || len > kMaxNameBytes) {
          protocol = "bad parameter record";
          break;
        }
        name.resize(len);
        if (!in.read(name.data(), len) || !in.read(&count, 8)) break;
        auto it = expected.find(name);
        if (it == expected.end() || it->second != count || !seen.insert(name).second) {
          protocol = "unexpected parameter '" + name.substr(0, 80) + "' of " + std::to_string(count) + " values";
          break;
        }
        std::vector<float> values(count);
        if (!in.read(values.data(), count * sizeof(float))) break;
        loaded[name] = std::move(values);
      } else if (kind == 'N' || kind == 'E') {
        if (!in.read(&len, 8) || len > kMaxText) {
          protocol = "bad text record";
          break;
        }
        std::string text(len, '\0');
        if (!in.read(text.data(), len)) break;
        if (kind == 'E') {
          error = text.empty() ? "(no message)" : text;
        } else if (my_notes.size() < kMaxNotes) {
          my_notes.push_back(std::move(text));
        }
      } else {
        protocol = "unknown record";
      }
    }
    if (in.timed_out || !protocol.empty()) ::kill(pid, SIGKILL);
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    if (o.parent_hook) o.parent_hook(o.hook_data);
    if (in.timed_out)
      failed(path, "the parsing process did not finish within " + std::to_string(wall_seconds) + " s");
    if (!protocol.empty()) failed(path, "the parsing process sent a malformed answer (" + protocol + ")");
    if (r < 0) failed(path, std::string("the parsing process was lost: ") + std::strerror(errno));
    if (WIFSIGNALED(status)) {
      const int sig = WTERMSIG(status);
      if (sig == SIGINT || sig == SIGTERM) interrupt::check("while a child process parsed a Keras weight file");
      if (sig == SIGXCPU || sig == SIGKILL)
        failed(path, "the parsing process used more than its " + std::to_string(cpu_seconds) + " s of CPU time (" +
                         signal_text(sig) + ")");
      failed(path, "the parsing process was killed by " + signal_text(sig));
    }
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 1 && !error.empty()) throw std::runtime_error(error);
    if (code != 0 || !done)
      failed(path, "the parsing process exited with status " + std::to_string(code) +
                       (done ? "" : " without an answer") +
                       (code == 1 && error.empty() ? " (out of memory: over its " + std::to_string(memory_bytes >> 20) +
                                                         " MiB address-space limit?)"
                                                   : ""));
    if (loaded.size() != seen.size()) failed(path, "the parsing process sent an incomplete answer");
  }
  for (auto& [name, values] : loaded) net.params[name] = std::move(values);
  for (auto& n : my_notes) {
    if (notes)
      notes->push_back(n);
    else
      std::fprintf(stderr, "%s\n", n.c_str());
  }
}

void load_keras_weights(graph::Network& net, const std::string& path, std::vector<std::string>* notes) {
  load_keras_weights(net, path, notes, LoadOptions{});
}

}  // namespace lockstep::keras
