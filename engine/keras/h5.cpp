#include "keras/h5.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace lockstep::keras::h5 {

Hid& Hid::operator=(Hid&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Hid::reset() {
  if (id_ >= 0 && close_) close_(id_);
  id_ = H5I_INVALID_HID;
}

std::mutex& library_mutex() {
  static std::mutex m;
  return m;
}

namespace {

herr_t collect(unsigned, const H5E_error2_t* e, void* data) {
  // Walking downward, the last entry is the innermost: the one that says what was wrong.
  if (e->desc && *e->desc) *static_cast<std::string*>(data) = e->desc;
  return 0;
}
}  // namespace

H5Session::H5Session(bool lock) : lock_(library_mutex(), std::defer_lock) {
  if (lock) lock_.lock();
  H5Eget_auto2(H5E_DEFAULT, &old_func_, &old_data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

H5Session::~H5Session() {
  H5Eclear2(H5E_DEFAULT);
  H5Eset_auto2(H5E_DEFAULT, old_func_, old_data_);
}

std::string last_error() {
  std::string msg;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &msg);
  H5Eclear2(H5E_DEFAULT);
  return msg;
}

void fail(const std::string& path, const std::string& what, bool with_hdf5_message) {
  std::string msg = "keras weights '" + path + "': " + what;
  const std::string detail = with_hdf5_message ? last_error() : std::string();
  if (!detail.empty()) msg += " (HDF5: " + detail + ")";
  throw std::runtime_error(msg);
}

Hid check(hid_t id, Hid::Closer close, const std::string& path, const std::string& what) {
  if (id < 0) fail(path, what, true);
  return Hid(id, close);
}

void check(herr_t status, const std::string& path, const std::string& what) {
  if (status < 0) fail(path, what, true);
}

bool has_attribute(hid_t obj, const std::string& name) { return H5Aexists(obj, name.c_str()) > 0; }

bool has_link(hid_t group, const std::string& name) { return H5Lexists(group, name.c_str(), H5P_DEFAULT) > 0; }

std::vector<std::string> read_strings(hid_t obj, const std::string& name, const std::string& path, uint64_t file_size) {
  const std::string what = "attribute '" + name + "'";
  Hid attr = check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose, path, "cannot open " + what);
  Hid space = check(H5Aget_space(attr.get()), H5Sclose, path, "cannot read the shape of " + what);
  if (H5Sget_simple_extent_type(space.get()) == H5S_NULL) return {};
  const int rank = H5Sget_simple_extent_ndims(space.get());
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (rank < 0 || n < 0) fail(path, "cannot read the shape of " + what, true);
  if (rank > 1) fail(path, what + " has " + std::to_string(rank) + " dimensions, expected a list of strings");
  if (n == 0) return {};
  Hid type = check(H5Aget_type(attr.get()), H5Tclose, path, "cannot read the type of " + what);
  if (H5Tget_class(type.get()) != H5T_STRING) fail(path, what + " is not a list of strings");

  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(std::min<uint64_t>(uint64_t(n), file_size)));
  if (H5Tis_variable_str(type.get()) > 0) {
    if (uint64_t(n) > file_size) fail(path, what + " claims more strings than the file has bytes");
    Hid mem = check(H5Tcopy(H5T_C_S1), H5Tclose, path, "HDF5 type copy failed");
    check(H5Tset_size(mem.get(), H5T_VARIABLE), path, "HDF5 type setup failed");
    check(H5Tset_cset(mem.get(), H5Tget_cset(type.get())), path, "HDF5 type setup failed");
    std::vector<char*> buf(static_cast<size_t>(n), nullptr);
    check(H5Aread(attr.get(), mem.get(), buf.data()), path, "cannot read " + what);
    for (char* s : buf) out.emplace_back(s ? s : "");
#if H5_VERSION_GE(1, 12, 0)
    H5Treclaim(mem.get(), space.get(), H5P_DEFAULT, buf.data());
#else
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, buf.data());
#endif
  } else {
    const size_t len = H5Tget_size(type.get());
    if (len == 0 || uint64_t(n) * len > file_size) fail(path, what + " claims more bytes than the file has");
    std::vector<char> buf(static_cast<size_t>(n) * len);
    check(H5Aread(attr.get(), type.get(), buf.data()), path, "cannot read " + what);
    for (size_t i = 0; i < size_t(n); ++i) {
      const char* s = buf.data() + i * len;
      out.emplace_back(s, strnlen(s, len));
    }
  }
  return out;
}

void write_strings(hid_t obj, const std::string& name, const std::vector<std::string>& values, bool scalar,
                   const std::string& path, size_t fixed_len) {
  const std::string what = "cannot write attribute '" + name + "'";
  if (values.empty()) {
    const hsize_t zero = 0;
    Hid space = check(H5Screate_simple(1, &zero, nullptr), H5Sclose, path, what);
    Hid attr = check(H5Acreate2(obj, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                     path, what);
    return;
  }
  if (scalar && values.size() != 1) fail(path, what + ": a scalar holds one string");
  size_t len = std::max<size_t>(1, fixed_len);
  for (const auto& v : values) len = std::max(len, v.size());
  Hid type = check(H5Tcopy(H5T_C_S1), H5Tclose, path, what);
  check(H5Tset_size(type.get(), len), path, what);
  check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), path, what);
  const hsize_t count = values.size();
  Hid space = scalar ? check(H5Screate(H5S_SCALAR), H5Sclose, path, what)
                     : check(H5Screate_simple(1, &count, nullptr), H5Sclose, path, what);
  std::vector<char> buf(values.size() * len, '\0');
  for (size_t i = 0; i < values.size(); ++i) std::memcpy(buf.data() + i * len, values[i].data(), values[i].size());
  Hid attr =
      check(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose, path, what);
  check(H5Awrite(attr.get(), type.get(), buf.data()), path, what);
}

}  // namespace lockstep::keras::h5
