// Helpers shared by the fuzz targets (fuzz/*_fuzz.cpp). Each target defines
// LLVMFuzzerTestOneInput; it is linked either with libFuzzer (-fsanitize=fuzzer, clang, the
// LOCKSTEP_FUZZ option) or with replay_main.cpp, which runs it once per file of the seed corpus
// and the regression inputs (a ctest test in every build, gcc included).
#pragma once
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace lockstep::fuzz {

// A file rewritten with each input, for parsers that want a path, in a private directory under
// /dev/shm (memory; else $TMPDIR or /tmp) that is removed when the process exits normally.
// Not a memfd: libhdf5 resolves the real path of the file it opens (H5Fopen fails with
// "can't retrieve real path for file" on /proc/self/fd/N of a memfd).
class ScratchFile {
 public:
  explicit ScratchFile(const char* name) {
    const char* tmp = std::getenv("TMPDIR");
    std::string base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (tmp && *tmp ? tmp : "/tmp");
    std::string tmpl = base + "/lockstep-fuzz-XXXXXX";
    if (!mkdtemp(tmpl.data())) {
      std::fprintf(stderr, "fuzz: mkdtemp(%s) failed: %s\n", tmpl.c_str(), std::strerror(errno));
      std::abort();
    }
    dir_ = tmpl;
    path_ = dir_ + "/" + name;
  }
  ~ScratchFile() {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  // Replaces the contents with `size` bytes; returns the path to open.
  const std::string& write(const uint8_t* data, size_t size) {
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) std::abort();
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::write(fd, data + done, size - done);
      if (n <= 0) std::abort();
      done += size_t(n);
    }
    close(fd);
    return path_;
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

}  // namespace lockstep::fuzz
