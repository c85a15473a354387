// Whole networks through a Keras file and back: the parameters must come back bit for bit and
// the CPU reference must give the same bits.
#include <gtest/gtest.h>

#include <cstring>

#include "keras/keras_h5.hpp"
#include "keras_test_util.hpp"
#include "models/models.hpp"

namespace lockstep::keras::test {
namespace {

graph::Network build(const std::string& arch, uint32_t input, bool top = true) {
  models::ModelOptions o;
  o.arch = arch;
  o.layout = models::Layout::Keras;
  o.input_size = input;
  o.classes = 10;
  o.include_top = top;
  return models::build(o);
}

// Saves a synthetic network, loads it into a fresh one, compares parameters and outputs.
void round_trip(const std::string& arch, uint32_t input, bool top, const SaveOptions& save, const std::string& file) {
  graph::Network original = build(arch, input, top);
  models::init_synthetic(original, 7);
  const std::string path = scratch(file);
  save_keras_weights(original, path, save);

  graph::Network loaded = build(arch, input, top);
  std::vector<std::string> notes;
  load_keras_weights(loaded, path, &notes);
  EXPECT_TRUE(notes.empty()) << notes.size() << " notes";
  expect_same_params(original, loaded);

  const auto a = forward(original), b = forward(loaded);
  ASSERT_EQ(a.back().size(), b.back().size());
  EXPECT_EQ(std::memcmp(a.back().data(), b.back().data(), a.back().size() * sizeof(float)), 0);
}

TEST(KerasRoundTrip, Vgg19WithClassifier) {
  // Input 64: block5_pool is 512x2x2, so fc1's rows really are permuted from (h, w, c).
  round_trip("vgg19", 64, true, {}, "vgg19.h5");
}

TEST(KerasRoundTrip, Vgg19FileStoresFc1InKerasOrder) {
  graph::Network net = build("vgg19", 64);
  models::init_synthetic(net, 3);
  const std::string path = scratch("vgg19_order.h5");
  save_keras_weights(net, path);
  // Keras row (y*2 + x)*512 + c holds the network's column c*4 + y*2 + x.
  const auto k = read_raw(path, "fc1/fc1/kernel:0");
  const auto& w = net.params.at("fc1.weight");
  ASSERT_EQ(k.size(), w.size());
  for (uint32_t u : {0u, 1u, 4095u})
    for (uint32_t c : {0u, 1u, 511u})
      for (uint32_t y = 0; y < 2; ++y)
        for (uint32_t x = 0; x < 2; ++x)
          EXPECT_EQ(k[((y * 2 + x) * 512 + c) * 4096 + u], w[u * 2048 + c * 4 + y * 2 + x]);
  // Convolutions are (kh, kw, in, out): element [1][2][0][5] is OIHW [5][0][1][2].
  const auto c1 = read_raw(path, "block1_conv1/block1_conv1/kernel:0");
  EXPECT_EQ(c1[((1 * 3 + 2) * 3 + 0) * 64 + 5], net.params.at("block1_conv1.weight")[((5 * 3 + 0) * 3 + 1) * 3 + 2]);
}

TEST(KerasRoundTrip, Resnet50) { round_trip("resnet50", 64, true, {}, "resnet50.h5"); }

TEST(KerasRoundTrip, Resnet50LegacyNames) {
  graph::Network net = build("resnet50", 64);
  models::init_synthetic(net, 11);
  const std::string path = scratch("resnet50_legacy.h5");
  save_keras_weights(net, path, true);
  for (const char* name : {"conv1", "bn_conv1", "res2a_branch2a", "bn2a_branch1", "res3d_branch2c", "res4f_branch2b",
                           "bn5c_branch2c", "fc1000"})
    EXPECT_TRUE(has_object(path, name)) << name;
  EXPECT_FALSE(has_object(path, "conv1_conv"));
  graph::Network loaded = build("resnet50", 64);
  load_keras_weights(loaded, path);
  expect_same_params(net, loaded);
}

TEST(KerasRoundTrip, WholeModelFile) {
  // Model.save puts the weights under "model_weights"; load_weights reads them from there.
  round_trip("vgg11", 32, true, {false, true}, "vgg11_model.h5");
}

TEST(KerasRoundTrip, NotopFiles) {
  round_trip("vgg19", 64, false, {}, "vgg19_notop.h5");
  round_trip("resnet50", 64, false, {}, "resnet50_notop.h5");
}

TEST(KerasRoundTrip, NotopFileIntoNetworkWithClassifier) {
  graph::Network notop = build("vgg19", 32, false);
  models::init_synthetic(notop, 1);
  const std::string path = scratch("vgg19_notop_for_top.h5");
  save_keras_weights(notop, path);
  graph::Network top = build("vgg19", 32, true);
  expect_error([&] { load_keras_weights(top, path); }, {path, "'fc1'", "missing from the file", "include_top=false"});
  EXPECT_TRUE(top.params.empty());  // nothing changes when the load fails

  graph::Network resnet = build("resnet50", 32, false);
  models::init_synthetic(resnet, 1);
  save_keras_weights(resnet, path);
  graph::Network resnet_top = build("resnet50", 32, true);
  expect_error([&] { load_keras_weights(resnet_top, path); }, {path, "'predictions'", "include_top=false"});
}

TEST(KerasRoundTrip, FileWithClassifierIntoNetworkWithout) {
  graph::Network top = build("vgg16", 32, true);
  models::init_synthetic(top, 1);
  const std::string path = scratch("vgg16_top.h5");
  save_keras_weights(top, path);
  graph::Network notop = build("vgg16", 32, false);
  expect_error([&] { load_keras_weights(notop, path); }, {path, "'fc1'", "include_top=true"});
}

}  // namespace
}  // namespace lockstep::keras::test
