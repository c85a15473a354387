// Built-in architectures: VGG11/13/16/19 (with and without batch norm) and ResNet-18/34/50/
// 101/152, in the two layouts users have — Keras (keras.applications) and torchvision — for
// any input size from 32x32 up. Layer names follow Keras (block1_conv1, conv2_block1_1_conv,
// fc1, predictions, ...) so that Keras weight files match by name; the torchvision layout
// uses the same names with its own structure.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "graph/network.hpp"

namespace lockstep::models {

enum class Layout : uint8_t { Keras, Torch };
Layout parse_layout(const std::string& s);  // "keras" | "torch"
const char* layout_name(Layout l);

struct ModelOptions {
  std::string arch = "resnet50";  // vgg11 vgg13 vgg16 vgg19 (+ "_bn"), resnet18 34 50 101 152
  Layout layout = Layout::Keras;
  uint32_t input_size = 224;      // square input, >= 32
  uint32_t classes = 1000;
  // false: no classifier — VGG ends at block5_pool, ResNet at avg_pool (global average), as
  // keras.applications with include_top=False (pooling="avg" for ResNet).
  bool include_top = true;
};

std::vector<std::string> architectures();
// The network without parameters; ends in Dense "predictions" then Softmax "probabilities".
// BatchNorm epsilon is 1.001e-5 in the Keras layout (keras.applications.resnet) and 1e-5 in
// the torchvision one.
// Keras VGG has no dropout; torchvision VGG has Dropout(0.5) after fc1 and fc2.
// Keras ResNet puts stride 2 on the first 1x1 convolution of a down-sampling block and has
// biases on its convolutions; torchvision puts the stride on the 3x3 and has no conv biases.
graph::Network build(const ModelOptions& options);

// He-initialised weights (normal, std sqrt(2 / fan_in)) from Philox keyed by the seed and the
// parameter's index, biases and BatchNorm statistics small and non-trivial, so that every
// command works with no file at all and the same seed gives the same bits everywhere.
// `input_std` is the typical spread of the input values: the first convolution's weights are
// divided by it, as a trained network's are (Keras "caffe" inputs span about +-128, std ~64;
// torchvision-normalised inputs have std ~1). Without it, caffe-range inputs give logits so
// large that every synthetic prediction is one-hot.
void init_synthetic(graph::Network& net, uint64_t seed, double input_std = 1.0);

}  // namespace lockstep::models
