// Internal to lockstep_keras: a thin C++ layer over the HDF5 C API. Every hid_t is owned by an
// Hid (closed by the destructor, so no path leaks a handle); every failure becomes a
// std::runtime_error that starts with the file's path and ends with HDF5's own innermost
// message. HDF5's error printing is silenced while an H5Session is alive.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace lockstep::keras::h5 {

// Owns one HDF5 identifier and the function that closes it.
class Hid {
 public:
  using Closer = herr_t (*)(hid_t);
  Hid() = default;
  Hid(hid_t id, Closer close) : id_(id), close_(close) {}
  Hid(Hid&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = H5I_INVALID_HID; }
  Hid& operator=(Hid&& o) noexcept;
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  ~Hid() { reset(); }
  void reset();
  // Gives up ownership without closing (the caller closes it, checking the status).
  hid_t release() {
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }
  hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

// The lock that serialises this process's HDF5 calls (Debian's libhdf5 is not built
// thread-safe).
std::mutex& library_mutex();

// Holds library_mutex() (unless `lock` is false: the single-threaded child process that parses
// an untrusted file, keras_h5_isolation.cpp) and silences the library's error printing for its
// lifetime, restoring the caller's handler afterwards.
class H5Session {
 public:
  explicit H5Session(bool lock = true);
  ~H5Session();
  H5Session(const H5Session&) = delete;
  H5Session& operator=(const H5Session&) = delete;

 private:
  std::unique_lock<std::mutex> lock_;
  H5E_auto2_t old_func_ = nullptr;
  void* old_data_ = nullptr;
};

// The innermost message on HDF5's error stack ("" when empty); clears the stack.
std::string last_error();

// Throws std::runtime_error("keras weights '<path>': <what>[: <HDF5 message>]").
[[noreturn]] void fail(const std::string& path, const std::string& what, bool with_hdf5_message = false);

// The checked wrappers take the file path only to name it in errors.
Hid check(hid_t id, Hid::Closer close, const std::string& path, const std::string& what);
void check(herr_t status, const std::string& path, const std::string& what);

bool has_attribute(hid_t obj, const std::string& name);
bool has_link(hid_t group, const std::string& name);
// A string attribute: a scalar or 1-D array of fixed- or variable-length strings. An attribute
// with no elements (h5py writes an empty list as a float64 array of shape (0,)) reads as {}.
std::vector<std::string> read_strings(hid_t obj, const std::string& name, const std::string& path, uint64_t file_size);

// Writes the strings as h5py writes a numpy 'S' array: fixed length (the longest string, at
// least 1, or `fixed_len` when larger), NUL-padded, ASCII; a 1-D array, or a scalar when
// `scalar`. An empty list becomes a float64 array of shape (0,), as h5py writes np.asarray([]).
void write_strings(hid_t obj, const std::string& name, const std::vector<std::string>& values, bool scalar,
                   const std::string& path, size_t fixed_len = 0);

}  // namespace lockstep::keras::h5
