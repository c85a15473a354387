#include "util/atomic_file.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fault.hpp"
#include "util/interrupt.hpp"

namespace lockstep::util {

namespace {
constexpr size_t kChunk = size_t(16) << 20;
std::atomic<unsigned> g_counter{0};
}  // namespace

AtomicFile::AtomicFile(std::string path, const char* fault_point) : path_(std::move(path)), fault_point_(fault_point) {
  struct stat st;
  direct_ = ::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
  if (direct_ && S_ISDIR(st.st_mode)) throw std::runtime_error(path_ + ": cannot write: is a directory");
  tmp_ = direct_ ? path_
                 : path_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(g_counter.fetch_add(1));
  const int flags = direct_ ? O_WRONLY | O_CLOEXEC : O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
  fd_ = ::open(tmp_.c_str(), flags, 0666);
  if (fd_ < 0) {
    const int err = errno;
    throw std::runtime_error(path_ + ": cannot " + (direct_ ? "open it" : "create temporary file " + tmp_) + ": " +
                             std::strerror(err));
  }
}

AtomicFile::~AtomicFile() {
  if (!committed_) discard();
}

void AtomicFile::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!direct_ && !committed_) ::unlink(tmp_.c_str());
  committed_ = true;  // nothing more to do, nothing more may be written
}

void AtomicFile::fail(const std::string& what, int err) {
  discard();
  throw std::runtime_error(path_ + ": " + what + ": " + std::strerror(err) +
                           (err == ENOSPC ? " (the disk is full; no partial file was left)" : ""));
}

void AtomicFile::write(const void* data, size_t bytes) {
  if (committed_ || fd_ < 0) throw std::logic_error(path_ + ": AtomicFile::write after commit or failure");
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    if (interrupt::requested()) {
      discard();
      interrupt::check(("while writing " + path_ + " (nothing was written to it)").c_str());
    }
    size_t n = std::min(bytes, kChunk);
    if (fault::hit(fault_point_)) {
      // As the kernel does on a full disk: part of the bytes land, then ENOSPC.
      if (n > 1 && ::write(fd_, p, n / 2) < 0) {
      }
      fail("write failed", ENOSPC);
    }
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write failed", errno);
    }
    if (w == 0) fail("write failed", EIO);
    p += w;
    bytes -= size_t(w);
  }
}

void AtomicFile::commit() {
  if (committed_ || fd_ < 0) throw std::logic_error(path_ + ": AtomicFile::commit twice or after a failure");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {  // NFS and some filesystems report a failed write only here
    const int err = errno;
    fail("write failed (on close)", err);
  }
  if (!direct_ && ::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    fail("cannot rename the temporary file " + tmp_ + " into place", err);
  }
  committed_ = true;
}

void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> pieces) {
  AtomicFile f(path);
  for (std::string_view p : pieces) f.write(p);
  f.commit();
}

}  // namespace lockstep::util
