// Writing a file so that nobody ever sees half of it: the bytes go to a temporary file next to
// the target ("<path>.tmp.<pid>.<n>", same directory, so rename() stays on one filesystem), which
// commit() renames over the target. Until then the target is untouched (an old file keeps its
// old contents); a failure (disk full, I/O error, an interrupt) or an exception removes the
// temporary. A target that exists and is not a regular file (/dev/stdout, a pipe, /dev/full)
// is written directly: it cannot be renamed over, and it holds no partial file to leave behind.
// Every error is a std::runtime_error that starts with the target path and carries the system's
// reason ("No space left on device").
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace lockstep::util {

class AtomicFile {
 public:
  // `fault_point`: the LOCKSTEP_FAULT point (util/fault.hpp) that makes a write fail with ENOSPC.
  explicit AtomicFile(std::string path, const char* fault_point = "write");
  ~AtomicFile();  // removes the temporary unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends; throws on a failed write (the temporary is removed at once) or when an interrupt
  // (SIGINT/SIGTERM) was received (checked before every chunk of 16 MiB).
  void write(const void* data, size_t bytes);
  void write(std::string_view s) { write(s.data(), s.size()); }
  // Closes (checking the close) and renames into place. Nothing can be written afterwards.
  void commit();

  const std::string& path() const { return path_; }
  // The file being written: the temporary, or the target itself when written directly.
  const std::string& temp_path() const { return tmp_; }

 private:
  [[noreturn]] void fail(const std::string& what, int err);
  void discard();

  std::string path_, tmp_;
  const char* fault_point_;
  int fd_ = -1;
  bool direct_ = false, committed_ = false;
};

// The pieces, concatenated, through an AtomicFile.
void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> pieces);

}  // namespace lockstep::util
