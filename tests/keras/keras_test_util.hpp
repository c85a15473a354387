// Helpers for the Keras weight tests: scratch paths, hand-written Keras files (written with the
// HDF5 C API directly, independently of save_keras_weights), damage to files, comparisons.
#pragma once
#include <hdf5.h>

#include <functional>
#include <string>
#include <vector>

#include "graph/network.hpp"

namespace lockstep::keras::test {

// A fresh path in this process's scratch directory.
std::string scratch(const std::string& name);

struct RawWeight {
  std::string name;  // relative to the layer group, e.g. "conv/kernel:0"
  std::vector<hsize_t> dims;
  std::vector<float> values;  // converted by HDF5 to `file_type`
  hid_t file_type = H5T_IEEE_F32LE;
};
struct RawLayer {
  std::string name;
  std::vector<RawWeight> weights;  // empty: a layer without weights
};
// Writes layer_names / weight_names as h5py 3 writes Python lists (variable-length strings),
// or leaves layer_names out. `split_names` splits layer_names into layer_names0, layer_names1.
struct RawOptions {
  bool layer_names = true;
  bool split_names = false;
  std::string backend = "tensorflow";
};
void write_raw_keras(const std::string& path, const std::vector<RawLayer>& layers, const RawOptions& options = {});

// The float values of a dataset, as stored (no conversion of layouts).
std::vector<float> read_raw(const std::string& path, const std::string& dataset);
bool has_object(const std::string& path, const std::string& object);
bool has_attribute(const std::string& path, const std::string& object, const std::string& attribute);
void delete_attribute(const std::string& path, const std::string& object, const std::string& attribute);
void write_bytes(const std::string& path, const std::string& bytes);

// Every parameter present in both with the same bits.
void expect_same_params(const graph::Network& a, const graph::Network& b);
// The canonical float32 reference of every layer, after graph::prepare on a copy.
std::vector<std::vector<float>> forward(graph::Network net, uint32_t batch = 1);
// Runs fn, expects a std::runtime_error whose message contains every one of `parts`.
// SHOW_ERRORS=1 in the environment prints each message, to read them all at once.
void expect_error(const std::function<void()>& fn, const std::vector<std::string>& parts);

}  // namespace lockstep::keras::test
