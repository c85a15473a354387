// Bad files: each must give a std::runtime_error naming the file (and the layer and dataset
// where there is one), never a crash, and leave the network's parameters as they were.
#include <gtest/gtest.h>

#include <filesystem>

#include "graph/reference_forward.hpp"
#include "keras/keras_h5.hpp"
#include "keras_test_util.hpp"

namespace lockstep::keras::test {
namespace {

using graph::Layer;
using graph::LayerKind;

// input 1x4x4 -> conv 3x3 (2 channels, bias) -> flatten -> dense (2 units, bias)
graph::Network small() {
  graph::Network n;
  n.name = "small";
  n.add_input({1, 4, 4});
  Layer c;
  c.name = "conv";
  c.kind = LayerKind::Conv2d;
  c.out_channels = 2;
  c.kh = c.kw = 3;
  c.bias = true;
  n.add(c);
  Layer f;
  f.name = "flatten";
  f.kind = LayerKind::Flatten;
  n.add(f);
  Layer d;
  d.name = "dense";
  d.kind = LayerKind::Dense;
  d.units = 2;
  d.bias = true;
  n.add(d);
  n.infer_shapes();
  n.params["conv.weight"] = std::vector<float>(18, 0.5f);
  n.params["conv.bias"] = {1, 2};
  n.params["dense.weight"] = std::vector<float>(16, 0.25f);
  n.params["dense.bias"] = {3, 4};
  return n;
}

RawLayer conv_layer(std::vector<hsize_t> kernel_dims = {3, 3, 1, 2}, hid_t type = H5T_IEEE_F32LE) {
  hsize_t n = 1;
  for (hsize_t d : kernel_dims) n *= d;
  return {"conv", {{"conv/kernel:0", kernel_dims, std::vector<float>(n, 1.0f), type}, {"conv/bias:0", {2}, {0, 0}}}};
}
RawLayer dense_layer() {
  return {"dense", {{"dense/kernel:0", {8, 2}, std::vector<float>(16, 1.0f)}, {"dense/bias:0", {2}, {0, 0}}}};
}

// Loads into small() and checks the message and that nothing changed.
void expect_load_error(const std::string& path, std::vector<std::string> parts) {
  graph::Network net = small();
  const auto before = net.params;
  parts.insert(parts.begin(), path);
  expect_error([&] { load_keras_weights(net, path); }, parts);
  EXPECT_EQ(net.params, before);
  // No HDF5 handle outlives the failure, and HDF5's own error printing is back as it was.
  EXPECT_EQ(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
  H5E_auto2_t func = nullptr;
  void* data = nullptr;
  H5Eget_auto2(H5E_DEFAULT, &func, &data);
  EXPECT_NE(func, nullptr);
}

TEST(KerasBadInput, GoodSmallFileLoads) {  // the baseline the damaged files depart from
  const std::string path = scratch("good.h5");
  write_raw_keras(path, {{"input_1", {}}, conv_layer(), {"flatten", {}}, dense_layer()});
  graph::Network net = small();
  load_keras_weights(net, path);
  EXPECT_EQ(net.params.at("conv.weight"), std::vector<float>(18, 1.0f));
}

TEST(KerasBadInput, MissingFile) { expect_load_error(scratch("does_not_exist.h5"), {"no such file"}); }

TEST(KerasBadInput, Directory) {
  const std::string path = scratch("a_directory.h5");
  std::filesystem::create_directories(path);
  expect_load_error(path, {"directory"});
}

TEST(KerasBadInput, EmptyFile) {
  const std::string path = scratch("empty.h5");
  write_bytes(path, "");
  expect_load_error(path, {"empty"});
}

TEST(KerasBadInput, PngRenamed) {
  const std::string path = scratch("image.h5");
  const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";  // signature + IHDR start
  write_bytes(path, std::string(png, sizeof png - 1));
  expect_load_error(path, {"not an HDF5 file", "PNG"});
}

TEST(KerasBadInput, TextFile) {
  const std::string path = scratch("notes.h5");
  write_bytes(path, "these are not the weights you are looking for\n");
  expect_load_error(path, {"not an HDF5 file"});
}

TEST(KerasBadInput, TruncatedFile) {
  const std::string path = scratch("truncated.h5");
  write_raw_keras(path, {{"input_1", {}}, conv_layer(), {"flatten", {}}, dense_layer()});
  for (double fraction : {0.9, 0.5, 0.05}) {
    const std::string cut = scratch("truncated_" + std::to_string(int(fraction * 100)) + ".h5");
    std::filesystem::copy_file(path, cut);
    std::filesystem::resize_file(cut, uintmax_t(double(std::filesystem::file_size(path)) * fraction));
    expect_load_error(cut, {});
  }
}

TEST(KerasBadInput, NoLayerNames) {
  const std::string path = scratch("no_layer_names.h5");
  write_raw_keras(path, {conv_layer(), dense_layer()}, {false});
  expect_load_error(path, {"layer_names"});
}

TEST(KerasBadInput, LayerNamesWithoutGroup) {
  const std::string path = scratch("no_group.h5");
  write_raw_keras(path, {conv_layer(), dense_layer()});
  {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "dense", H5P_DEFAULT);
    H5Fclose(f);
  }
  expect_load_error(path, {"'dense'", "no group"});
}

TEST(KerasBadInput, MissingLayer) {
  const std::string path = scratch("missing_layer.h5");
  write_raw_keras(path, {conv_layer(), {"flatten", {}}});
  expect_load_error(path, {"'dense'", "missing from the file"});
}

TEST(KerasBadInput, PreparedNetwork) {
  // BatchNorm is folded away by graph::prepare: its weights then have nowhere to go.
  const std::string path = scratch("bn_into_prepared.h5");
  graph::Network net;
  net.name = "conv_bn";
  net.add_input({1, 4, 4});
  Layer c;
  c.name = "c_conv";
  c.kind = LayerKind::Conv2d;
  c.out_channels = 1;
  net.add(c);
  Layer bn;
  bn.name = "c_bn";
  bn.kind = LayerKind::BatchNorm;
  net.add(bn);
  net.params = {{"c_conv.weight", {2}}, {"c_bn.gamma", {1}}, {"c_bn.beta", {0}}, {"c_bn.mean", {0}}, {"c_bn.var", {1}}};
  save_keras_weights(net, path);
  graph::prepare(net);
  expect_error([&] { load_keras_weights(net, path); }, {path, "'c_bn'", "load before graph::prepare"});
}

TEST(KerasBadInput, ExtraLayer) {
  const std::string path = scratch("extra_layer.h5");
  write_raw_keras(path, {conv_layer(), dense_layer(), {"dense_2", {{"dense_2/kernel:0", {2, 2}, {1, 2, 3, 4}}}}});
  expect_load_error(path, {"'dense_2'", "no counterpart"});
}

TEST(KerasBadInput, WrongKernelShape) {
  const std::string path = scratch("wrong_shape.h5");
  write_raw_keras(path, {conv_layer({3, 3, 1, 3}), dense_layer()});
  expect_load_error(path, {"layer 'conv'", "dataset 'conv/kernel:0'", "(3, 3, 1, 3)", "expected (3, 3, 1, 2)"});
}

TEST(KerasBadInput, TransposedDenseKernel) {
  const std::string path = scratch("transposed.h5");
  write_raw_keras(
      path, {conv_layer(),
             {"dense", {{"dense/kernel:0", {2, 8}, std::vector<float>(16, 1.0f)}, {"dense/bias:0", {2}, {0, 0}}}}});
  expect_load_error(path, {"layer 'dense'", "(2, 8)", "expected (8, 2)"});
}

TEST(KerasBadInput, Int32Dataset) {
  const std::string path = scratch("int32.h5");
  write_raw_keras(path, {conv_layer({3, 3, 1, 2}, H5T_STD_I32LE), dense_layer()});
  expect_load_error(path, {"layer 'conv'", "dataset 'conv/kernel:0'", "int32", "float32"});
}

TEST(KerasBadInput, Float16Dataset) {
  const std::string path = scratch("float16.h5");
  const hid_t half = H5Tcopy(H5T_IEEE_F32LE);  // IEEE binary16: 1 sign, 5 exponent, 10 mantissa bits
  H5Tset_fields(half, 15, 10, 5, 0, 10);
  H5Tset_size(half, 2);
  H5Tset_ebias(half, 15);
  write_raw_keras(path, {conv_layer({3, 3, 1, 2}, half), dense_layer()});
  H5Tclose(half);
  expect_load_error(path, {"dataset 'conv/kernel:0'", "float16"});
}

TEST(KerasBadInput, AbsurdDatasetSize) {
  // A dataset that claims 4 * 10^18 bytes but was never written: refused before reading.
  const std::string path = scratch("absurd.h5");
  write_raw_keras(
      path, {{"conv", {{"conv/kernel:0", {1000000000, 1000000000}, {}}, {"conv/bias:0", {2}, {0, 0}}}}, dense_layer()});
  expect_load_error(path, {"dataset 'conv/kernel:0'", "(1000000000, 1000000000)", "more bytes than the file"});
}

TEST(KerasBadInput, WrongWeightCount) {
  const std::string path = scratch("no_bias.h5");
  write_raw_keras(path, {{"conv", {{"conv/kernel:0", {3, 3, 1, 2}, std::vector<float>(18, 1.0f)}}}, dense_layer()});
  expect_load_error(path, {"layer 'conv'", "[conv/kernel:0]", "expected 2"});
}

TEST(KerasBadInput, WeightNameWithoutDataset) {
  const std::string path = scratch("dangling.h5");
  write_raw_keras(path, {conv_layer(), dense_layer()});
  {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "dense/dense/bias:0", H5P_DEFAULT);
    H5Fclose(f);
  }
  expect_load_error(path, {"layer 'dense'", "dataset 'dense/bias:0'", "absent"});
}

TEST(KerasBadInput, LayerNamesOfWrongType) {
  const std::string path = scratch("numeric_names.h5");
  write_raw_keras(path, {conv_layer(), dense_layer()});
  delete_attribute(path, "/", "layer_names");
  {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hsize_t n = 2;
    const hid_t space = H5Screate_simple(1, &n, nullptr);
    const hid_t a = H5Acreate2(f, "layer_names", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
    const int v[2] = {1, 2};
    H5Awrite(a, H5T_NATIVE_INT, v);
    H5Aclose(a);
    H5Sclose(space);
    H5Fclose(f);
  }
  expect_load_error(path, {"layer_names", "not a list of strings"});
}

TEST(KerasBadInput, TheanoKernelsAreRefused) {
  const std::string path = scratch("theano.h5");
  RawOptions o;
  o.backend = "theano";
  write_raw_keras(path, {conv_layer(), dense_layer()}, o);
  expect_load_error(path, {"Theano"});
}

TEST(KerasBadInput, SaveRefusesMissingParameters) {
  graph::Network net = small();
  net.params.erase("dense.bias");
  const std::string path = scratch("incomplete.h5");
  expect_error([&] { save_keras_weights(net, path); }, {path, "dense.bias"});
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".partial"));
}

TEST(KerasBadInput, SaveIntoMissingDirectory) {
  const std::string path = scratch("no/such/dir/w.h5");
  expect_error([&] { save_keras_weights(small(), path); }, {path, "cannot create"});
}

}  // namespace
}  // namespace lockstep::keras::test
