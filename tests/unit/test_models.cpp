// The built-in architectures: shapes, parameter counts and MACs that can be checked against
// published figures, the two ResNet-50 layouts, and synthetic weights.
#include <gtest/gtest.h>

#include "graph/reference_forward.hpp"
#include "models/models.hpp"

namespace lockstep {

uint64_t param_count(const graph::Network& net) {
  uint64_t n = 0;
  for (const auto& [name, count] : net.expected_params()) n += count;
  return n;
}

TEST(Models, PublishedParameterCountsAndMacs) {
  // keras.applications / torchvision figures at 224x224 with 1000 classes.
  auto vgg19 = models::build({"vgg19", models::Layout::Keras, 224});
  EXPECT_EQ(param_count(vgg19), 143667240u);
  EXPECT_NEAR(double(vgg19.macs()) / 1e9, 19.6, 0.05);
  auto vgg16 = models::build({"vgg16", models::Layout::Torch, 224});
  EXPECT_EQ(param_count(vgg16), 138357544u);
  EXPECT_NEAR(double(vgg16.macs()) / 1e9, 15.5, 0.05);
  // torchvision resnet50: 25,557,032 parameters (BatchNorm's mean/var buffers not counted there).
  auto r50t = models::build({"resnet50", models::Layout::Torch, 224});
  uint64_t bn_stats = 0;
  for (const auto& [name, count] : r50t.expected_params())
    if (name.ends_with(".mean") || name.ends_with(".var")) bn_stats += count;
  EXPECT_EQ(param_count(r50t) - bn_stats, 25557032u);
  EXPECT_NEAR(double(r50t.macs()) / 1e9, 4.09, 0.02);
  auto r18 = models::build({"resnet18", models::Layout::Torch, 224});
  bn_stats = 0;
  for (const auto& [name, count] : r18.expected_params())
    if (name.ends_with(".mean") || name.ends_with(".var")) bn_stats += count;
  EXPECT_EQ(param_count(r18) - bn_stats, 11689512u);
}

TEST(Models, ResNet50LayoutsDifferOnlyWhereTheStrideSits) {
  const auto keras = models::build({"resnet50", models::Layout::Keras, 224});
  const auto torch = models::build({"resnet50", models::Layout::Torch, 224});
  EXPECT_EQ(keras.layer("conv3_block1_1_conv").stride_h, 2u);
  EXPECT_EQ(keras.layer("conv3_block1_2_conv").stride_h, 1u);
  EXPECT_EQ(torch.layer("conv3_block1_1_conv").stride_h, 1u);
  EXPECT_EQ(torch.layer("conv3_block1_2_conv").stride_h, 2u);
  EXPECT_TRUE(keras.layer("conv3_block1_1_conv").bias);
  EXPECT_FALSE(torch.layer("conv3_block1_1_conv").bias);
  EXPECT_EQ(keras.layer("avg_pool").out, (graph::Shape3{2048, 1, 1}));
  EXPECT_EQ(torch.layer("conv5_block3_out").out, (graph::Shape3{2048, 7, 7}));
}

TEST(Models, WithoutTopAndBatchNormEpsilon) {
  models::ModelOptions o{"vgg19", models::Layout::Keras, 224};
  o.include_top = false;
  EXPECT_EQ(models::build(o).layers.back().name, "block5_pool");
  o.arch = "resnet50";
  const auto r = models::build(o);
  EXPECT_EQ(r.layers.back().name, "avg_pool");
  EXPECT_DOUBLE_EQ(r.layer("conv1_bn").epsilon, 1.001e-5);
  EXPECT_DOUBLE_EQ(models::build({"resnet50", models::Layout::Torch}).layer("conv1_bn").epsilon, 1e-5);
}

TEST(Models, VggDropoutOnlyInTorchLayout) {
  EXPECT_LT(models::build({"vgg19", models::Layout::Keras, 64}).find("fc1_dropout"), 0);
  EXPECT_GE(models::build({"vgg19", models::Layout::Torch, 64}).find("fc1_dropout"), 0);
}

TEST(Models, EveryArchitectureBuildsAtSmallSizes) {
  for (const auto& arch : models::architectures())
    for (uint32_t size : {32u, 64u, 97u}) {
      auto net = models::build({arch, models::Layout::Torch, size, 10});
      EXPECT_EQ(net.layers.back().out, (graph::Shape3{10, 1, 1})) << arch << " " << size;
    }
  EXPECT_THROW(models::build({"resnet51"}), std::invalid_argument);
  EXPECT_THROW(models::build({"vgg19", models::Layout::Keras, 16}), std::invalid_argument);
}

TEST(Models, SyntheticWeightsAreDeterministicAndPrepareFolds) {
  auto a = models::build({"resnet18", models::Layout::Torch, 32, 10});
  auto b = a;
  models::init_synthetic(a, 7);
  models::init_synthetic(b, 7);
  EXPECT_EQ(a.params, b.params);
  models::init_synthetic(b, 8);
  EXPECT_NE(a.params, b.params);
  const size_t before = a.layers.size();
  graph::prepare(a);
  EXPECT_LT(a.layers.size(), before);
  for (const auto& l : a.layers) EXPECT_NE(l.kind, graph::LayerKind::BatchNorm);
  EXPECT_TRUE(a.layer("conv1_conv").relu);  // conv -> bn -> relu became one layer
  EXPECT_TRUE(a.layer("conv2_block1_add").relu);
  std::vector<float> x(3 * 32 * 32, 0.5f);
  const auto out = graph::reference_forward(a, x, {});
  double sum = 0;
  for (float p : out.back()) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-5);
  const auto oracle = graph::oracle_forward(a, x, {});
  for (size_t i = 0; i < out.back().size(); ++i) EXPECT_NEAR(out.back()[i], oracle.back()[i], 1e-4);
}

}  // namespace lockstep
