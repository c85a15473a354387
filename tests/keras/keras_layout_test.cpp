// Layout conversions checked on files written by hand (not by save_keras_weights), so an error
// made the same way in the reader and the writer cannot hide.
#include <gtest/gtest.h>

#include "keras/keras_h5.hpp"
#include "keras/legacy_names.hpp"
#include "keras_test_util.hpp"
#include "models/models.hpp"

namespace lockstep::keras::test {
namespace {

using graph::Layer;
using graph::LayerKind;

// input 1x2x2 -> conv 1x1 (2 channels) -> flatten (8) -> dense (3 units)
graph::Network tiny() {
  graph::Network n;
  n.name = "tiny";
  n.add_input({1, 2, 2});
  Layer c;
  c.name = "conv";
  c.kind = LayerKind::Conv2d;
  c.out_channels = 2;
  c.bias = true;
  n.add(c);
  Layer f;
  f.name = "flatten";
  f.kind = LayerKind::Flatten;
  n.add(f);
  Layer d;
  d.name = "dense";
  d.kind = LayerKind::Dense;
  d.units = 3;
  d.bias = true;
  n.add(d);
  n.infer_shapes();
  return n;
}

// Dense kernel value for NHWC row (y, x, c) and unit u: the digits spell where it came from.
float dense_value(uint32_t y, uint32_t x, uint32_t c, uint32_t u) { return float(1000 * u + 100 * c + 10 * y + x); }

std::vector<RawLayer> tiny_file() {
  std::vector<float> kernel(8 * 3);
  for (uint32_t y = 0; y < 2; ++y)
    for (uint32_t x = 0; x < 2; ++x)
      for (uint32_t c = 0; c < 2; ++c)
        for (uint32_t u = 0; u < 3; ++u) kernel[((y * 2 + x) * 2 + c) * 3 + u] = dense_value(y, x, c, u);
  return {{"input_1", {}},
          {"conv", {{"conv/kernel:0", {1, 1, 1, 2}, {0.5f, -2.0f}}, {"conv/bias:0", {2}, {0.25f, 1.0f}}}},
          {"flatten", {}},
          {"dense", {{"dense/kernel:0", {8, 3}, kernel}, {"dense/bias:0", {3}, {1, 2, 3}}}}};
}

TEST(KerasLayout, DenseAfterFlattenIsPermutedFromHwcToChw) {
  const std::string path = scratch("tiny.h5");
  write_raw_keras(path, tiny_file());
  graph::Network net = tiny();
  load_keras_weights(net, path);
  const auto& w = net.params.at("dense.weight");
  ASSERT_EQ(w.size(), 24u);
  for (uint32_t u = 0; u < 3; ++u)
    for (uint32_t c = 0; c < 2; ++c)
      for (uint32_t y = 0; y < 2; ++y)
        for (uint32_t x = 0; x < 2; ++x) EXPECT_EQ(w[u * 8 + c * 4 + y * 2 + x], dense_value(y, x, c, u));
  EXPECT_EQ(net.params.at("conv.weight"), (std::vector<float>{0.5f, -2.0f}));
  EXPECT_EQ(net.params.at("dense.bias"), (std::vector<float>{1, 2, 3}));

  // And the writer produces exactly the hand-written layout.
  const std::string back = scratch("tiny_back.h5");
  save_keras_weights(net, back);
  EXPECT_EQ(read_raw(back, "dense/dense/kernel:0"), tiny_file()[3].weights[0].values);
}

TEST(KerasLayout, ConvKernelIsHwioToOihw) {
  graph::Network net;
  net.name = "conv3x3";
  net.add_input({2, 5, 5});
  Layer c;
  c.name = "c";
  c.kind = LayerKind::Conv2d;
  c.out_channels = 3;
  c.kh = c.kw = 3;
  net.add(c);
  net.infer_shapes();
  std::vector<float> k(3 * 3 * 2 * 3);
  for (uint32_t y = 0; y < 3; ++y)
    for (uint32_t x = 0; x < 3; ++x)
      for (uint32_t i = 0; i < 2; ++i)
        for (uint32_t o = 0; o < 3; ++o) k[((y * 3 + x) * 2 + i) * 3 + o] = float(1000 * y + 100 * x + 10 * i + o);
  const std::string path = scratch("conv3x3.h5");
  write_raw_keras(path, {{"c", {{"c/kernel:0", {3, 3, 2, 3}, k}}}});
  load_keras_weights(net, path);
  const auto& w = net.params.at("c.weight");
  for (uint32_t o = 0; o < 3; ++o)
    for (uint32_t i = 0; i < 2; ++i)
      for (uint32_t y = 0; y < 3; ++y)
        for (uint32_t x = 0; x < 3; ++x)
          EXPECT_EQ(w[((o * 2 + i) * 3 + y) * 3 + x], float(1000 * y + 100 * x + 10 * i + o));
}

// conv -> batch norm, for the BatchNormalization variants.
graph::Network conv_bn() {
  graph::Network n;
  n.name = "conv_bn";
  n.add_input({1, 4, 4});
  Layer c;
  c.name = "c";
  c.kind = LayerKind::Conv2d;
  c.out_channels = 2;
  n.add(c);
  Layer b;
  b.name = "bn";
  b.kind = LayerKind::BatchNorm;
  n.add(b);
  n.infer_shapes();
  return n;
}

TEST(KerasLayout, BatchNormWithoutScaleGetsGammaOneAndSaysSo) {
  const std::string path = scratch("bn_noscale.h5");
  write_raw_keras(path, {{"c", {{"c/kernel:0", {1, 1, 1, 2}, {1, 2}}}},
                         {"bn",
                          {{"bn/beta:0", {2}, {0.5f, 0.25f}},
                           {"bn/moving_mean:0", {2}, {3, 4}},
                           {"bn/moving_variance:0", {2}, {5, 6}}}}});
  graph::Network net = conv_bn();
  std::vector<std::string> notes;
  load_keras_weights(net, path, &notes);
  EXPECT_EQ(net.params.at("bn.gamma"), (std::vector<float>{1, 1}));
  EXPECT_EQ(net.params.at("bn.beta"), (std::vector<float>{0.5f, 0.25f}));
  EXPECT_EQ(net.params.at("bn.mean"), (std::vector<float>{3, 4}));
  EXPECT_EQ(net.params.at("bn.var"), (std::vector<float>{5, 6}));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("gamma"), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find(path), std::string::npos) << notes[0];
}

TEST(KerasLayout, BatchNormWithoutMovingVarianceIsRefused) {
  const std::string path = scratch("bn_novar.h5");
  write_raw_keras(
      path, {{"c", {{"c/kernel:0", {1, 1, 1, 2}, {1, 2}}}},
             {"bn", {{"bn/gamma:0", {2}, {1, 1}}, {"bn/beta:0", {2}, {0, 0}}, {"bn/moving_mean:0", {2}, {0, 0}}}}});
  graph::Network net = conv_bn();
  expect_error([&] { load_keras_weights(net, path); }, {path, "'bn'", "variance"});
}

TEST(KerasLayout, Float64IsRoundedWithANote) {
  const std::string path = scratch("f64.h5");
  write_raw_keras(path, {{"c", {{"c/kernel:0", {1, 1, 1, 2}, {0.1f, -3}, H5T_IEEE_F64LE}}},
                         {"bn",
                          {{"bn/gamma:0", {2}, {1, 1}},
                           {"bn/beta:0", {2}, {0, 0}},
                           {"bn/moving_mean:0", {2}, {0, 0}},
                           {"bn/moving_variance:0", {2}, {1, 1}}}}});
  graph::Network net = conv_bn();
  std::vector<std::string> notes;
  load_keras_weights(net, path, &notes);
  EXPECT_EQ(net.params.at("c.weight"), (std::vector<float>{0.1f, -3}));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("float64"), std::string::npos) << notes[0];
}

TEST(KerasLayout, SplitLayerNamesAndVariableLengthStrings) {
  // Keras splits layer_names into layer_names0, 1, ... past 64 KiB; h5py 3 writes lists as
  // variable-length strings (save_keras_weights writes fixed-length ones, as h5py 2 did).
  const std::string path = scratch("tiny_split.h5");
  write_raw_keras(path, tiny_file(), {true, true});
  graph::Network net = tiny();
  load_keras_weights(net, path);
  EXPECT_EQ(net.params.at("dense.bias"), (std::vector<float>{1, 2, 3}));
}

TEST(KerasLayout, LongLayerNameListsAreSplitLikeKeras) {
  // 3000 layers of 30-character names: 90,000 bytes, over Keras' 64,512-byte limit.
  graph::Network net;
  net.name = "long";
  net.add_input({1, 2, 2});
  for (int i = 0; i < 3000; ++i) {
    Layer r;
    r.name = "relu_with_a_long_name_" + std::to_string(100000 + i) + "xx";
    r.kind = LayerKind::Relu;
    net.add(r);
  }
  Layer c;
  c.name = "c";
  c.kind = LayerKind::Conv2d;
  c.out_channels = 1;
  net.add(c);
  net.params["c.weight"] = {2.5f};
  const std::string path = scratch("long.h5");
  save_keras_weights(net, path);
  EXPECT_TRUE(has_attribute(path, "/", "layer_names0"));
  EXPECT_TRUE(has_attribute(path, "/", "layer_names1"));
  EXPECT_FALSE(has_attribute(path, "/", "layer_names"));
  graph::Network loaded = net;
  loaded.params.clear();
  load_keras_weights(loaded, path);
  EXPECT_EQ(loaded.params.at("c.weight"), (std::vector<float>{2.5f}));
}

TEST(KerasLegacyNames, MapBothWays) {
  EXPECT_EQ(modern_resnet_name("conv1"), "conv1_conv");
  EXPECT_EQ(modern_resnet_name("bn_conv1"), "conv1_bn");
  EXPECT_EQ(modern_resnet_name("res2a_branch2a"), "conv2_block1_1_conv");
  EXPECT_EQ(modern_resnet_name("bn2c_branch2b"), "conv2_block3_2_bn");
  EXPECT_EQ(modern_resnet_name("res4f_branch2c"), "conv4_block6_3_conv");
  EXPECT_EQ(modern_resnet_name("res5a_branch1"), "conv5_block1_0_conv");
  EXPECT_EQ(modern_resnet_name("bn4b22_branch2a"), "conv4_block23_1_bn");  // Caffe ResNet-101
  EXPECT_EQ(modern_resnet_name("fc1000"), "predictions");
  EXPECT_EQ(modern_resnet_name("block1_conv1"), "block1_conv1");
  EXPECT_EQ(modern_resnet_name("res6a_branch2a"), "res6a_branch2a");
  EXPECT_EQ(legacy_resnet_name("conv3_block4_0_bn", 4), "bn3d_branch1");
  EXPECT_EQ(legacy_resnet_name("conv4_block36_2_conv", 36), "res4b35_branch2b");
  EXPECT_EQ(legacy_resnet_name("avg_pool", 0), "avg_pool");
  // Every layer of every ResNet survives the round trip.
  for (const char* arch : {"resnet18", "resnet50", "resnet152"}) {
    models::ModelOptions o;
    o.arch = arch;
    const graph::Network net = models::build(o);
    for (const auto& l : net.layers) {
      const auto pos = l.name.find("_block");
      const uint32_t blocks = pos == std::string::npos                               ? 0
                              : std::string(arch) == "resnet152" && l.name[4] == '4' ? 36
                                                                                     : 26;
      EXPECT_EQ(modern_resnet_name(legacy_resnet_name(l.name, blocks)), l.name) << arch << " " << l.name;
    }
  }
}

}  // namespace
}  // namespace lockstep::keras::test
