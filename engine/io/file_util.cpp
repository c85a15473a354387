#include "io/file_util.hpp"

#include "util/atomic_file.hpp"
#include "util/fault.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include <unistd.h>

namespace lockstep::io {

namespace fs = std::filesystem;

std::ifstream open_for_reading(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw std::runtime_error(path + ": cannot open: is a directory, expected a file");
  errno = 0;
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    const int err = errno;
    throw std::runtime_error(path + ": cannot open: " +
                             (err ? std::strerror(err) : "unknown error"));
  }
  return f;
}

uint64_t file_size(std::ifstream& f, const std::string& path) {
  f.seekg(0, std::ios::end);
  const std::streamoff end = f.tellg();
  f.seekg(0, std::ios::beg);
  if (end < 0 || !f) throw std::runtime_error(path + ": cannot determine the file size");
  return static_cast<uint64_t>(end);
}

void read_exact(std::ifstream& f, void* dst, uint64_t n, const std::string& path) {
  if (n == 0) return;
  if (fault::hit("read")) throw std::runtime_error(path + ": read failed: " + std::strerror(EIO));
  f.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
  if (static_cast<uint64_t>(f.gcount()) != n)
    throw std::runtime_error(path + ": read failed: file ends early or cannot be read");
}

std::vector<uint8_t> read_whole_file(const std::string& path, uint64_t max_bytes) {
  std::ifstream f = open_for_reading(path);
  const uint64_t size = file_size(f, path);
  if (size > max_bytes)
    throw std::runtime_error(path + ": file is " + std::to_string(size) +
                             " bytes: expected at most " + std::to_string(max_bytes));
  std::vector<uint8_t> bytes(size);
  read_exact(f, bytes.data(), size, path);
  return bytes;
}

void write_file_atomically(const std::string& path,
                           std::initializer_list<std::string_view> pieces) {
  util::write_file_atomically(path, pieces);
}

}  // namespace lockstep::io
