#include "keras_test_util.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "graph/reference_forward.hpp"

namespace lockstep::keras::test {

namespace fs = std::filesystem;

namespace {
// Test-side HDF5 calls: any failure is a test bug, so throw with the call's name.
hid_t ok(hid_t id, const char* what) {
  if (id < 0) throw std::runtime_error(std::string("test HDF5 call failed: ") + what);
  return id;
}

void vlen_strings(hid_t obj, const std::string& name, const std::vector<std::string>& values) {
  if (values.empty()) {  // h5py: an empty list is a float64 array of shape (0,)
    const hsize_t zero = 0;
    const hid_t space = ok(H5Screate_simple(1, &zero, nullptr), "H5Screate_simple");
    H5Aclose(ok(H5Acreate2(obj, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2"));
    H5Sclose(space);
    return;
  }
  const hid_t type = ok(H5Tcopy(H5T_C_S1), "H5Tcopy");
  H5Tset_size(type, H5T_VARIABLE);
  const hsize_t n = values.size();
  const hid_t space = ok(H5Screate_simple(1, &n, nullptr), "H5Screate_simple");
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  const hid_t attr = ok(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
  ok(H5Awrite(attr, type, ptrs.data()), "H5Awrite");
  H5Aclose(attr);
  H5Sclose(space);
  H5Tclose(type);
}
}  // namespace

namespace {
fs::path scratch_dir() { return fs::temp_directory_path() / ("lockstep_keras_tests_" + std::to_string(getpid())); }

// Removes this process's scratch directory when the tests are done.
struct ScratchCleanup : ::testing::Environment {
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(scratch_dir(), ec);
  }
};
[[maybe_unused]] ::testing::Environment* const cleanup = ::testing::AddGlobalTestEnvironment(new ScratchCleanup);
}  // namespace

std::string scratch(const std::string& name) {
  fs::create_directories(scratch_dir());
  return (scratch_dir() / name).string();
}

void write_raw_keras(const std::string& path, const std::vector<RawLayer>& layers, const RawOptions& o) {
  const hid_t file = ok(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "H5Fcreate");
  std::vector<std::string> names;
  for (const auto& l : layers) names.push_back(l.name);
  if (o.layer_names && o.split_names) {
    const size_t half = names.size() / 2 + names.size() % 2;
    vlen_strings(file, "layer_names0", {names.begin(), names.begin() + long(half)});
    vlen_strings(file, "layer_names1", {names.begin() + long(half), names.end()});
  } else if (o.layer_names) {
    vlen_strings(file, "layer_names", names);
  }
  if (!o.backend.empty()) vlen_strings(file, "backend", {o.backend});
  const hid_t lcpl = ok(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate");
  H5Pset_create_intermediate_group(lcpl, 1);
  for (const auto& l : layers) {
    const hid_t g = ok(H5Gcreate2(file, l.name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2");
    std::vector<std::string> wnames;
    for (const auto& w : l.weights) wnames.push_back(w.name);
    vlen_strings(g, "weight_names", wnames);
    for (const auto& w : l.weights) {
      const hid_t space = ok(H5Screate_simple(int(w.dims.size()), w.dims.data(), nullptr), "H5Screate_simple");
      const hid_t ds =
          ok(H5Dcreate2(g, w.name.c_str(), w.file_type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT), "H5Dcreate2");
      if (!w.values.empty())
        ok(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w.values.data()), "H5Dwrite");
      H5Dclose(ds);
      H5Sclose(space);
    }
    H5Gclose(g);
  }
  H5Pclose(lcpl);
  H5Fclose(file);
}

std::vector<float> read_raw(const std::string& path, const std::string& dataset) {
  const hid_t file = ok(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen");
  const hid_t ds = ok(H5Dopen2(file, dataset.c_str(), H5P_DEFAULT), "H5Dopen2");
  const hid_t space = H5Dget_space(ds);
  std::vector<float> v(size_t(H5Sget_simple_extent_npoints(space)));
  ok(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "H5Dread");
  H5Sclose(space);
  H5Dclose(ds);
  H5Fclose(file);
  return v;
}

bool has_object(const std::string& path, const std::string& object) {
  const hid_t file = ok(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen");
  const bool found = H5Lexists(file, object.c_str(), H5P_DEFAULT) > 0;
  H5Fclose(file);
  return found;
}

bool has_attribute(const std::string& path, const std::string& object, const std::string& attribute) {
  const hid_t file = ok(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen");
  const bool found = H5Aexists_by_name(file, object.c_str(), attribute.c_str(), H5P_DEFAULT) > 0;
  H5Fclose(file);
  return found;
}

void delete_attribute(const std::string& path, const std::string& object, const std::string& attribute) {
  const hid_t file = ok(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "H5Fopen");
  ok(H5Adelete_by_name(file, object.c_str(), attribute.c_str(), H5P_DEFAULT), "H5Adelete_by_name");
  H5Fclose(file);
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
}

void expect_same_params(const graph::Network& a, const graph::Network& b) {
  ASSERT_EQ(a.params.size(), b.params.size());
  for (const auto& [name, va] : a.params) {
    auto it = b.params.find(name);
    ASSERT_NE(it, b.params.end()) << name;
    ASSERT_EQ(va.size(), it->second.size()) << name;
    EXPECT_EQ(std::memcmp(va.data(), it->second.data(), va.size() * sizeof(float)), 0) << name;
  }
}

std::vector<std::vector<float>> forward(graph::Network net, uint32_t batch) {
  graph::prepare(net);
  std::vector<float> input(batch * net.layers[0].out.elements());
  for (size_t i = 0; i < input.size(); ++i) input[i] = float(int((i * 2654435761u) % 2001u) - 1000) / 8.0f;
  graph::ForwardOptions o;
  o.batch = batch;
  return graph::reference_forward(net, input, o);
}

void expect_error(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one mentioning '" << parts.at(0) << "'";
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    if (std::getenv("SHOW_ERRORS")) std::printf("error message: %s\n", msg.c_str());
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

}  // namespace lockstep::keras::test
