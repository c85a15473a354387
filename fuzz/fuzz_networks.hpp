// The small networks of the fuzz targets and the seed corpus (fuzz/make_seed_corpus.cpp):
// every layer kind, Keras and legacy ResNet layer names, a Dense after a Flatten with h*w > 1
// (whose Keras kernel is permuted), a few hundred parameters in all.
#pragma once
#include <string>

#include "graph/network.hpp"

namespace lockstep::fuzz {

inline graph::Layer layer(std::string name, graph::LayerKind kind) {
  graph::Layer l;
  l.name = std::move(name);
  l.kind = kind;
  return l;
}

inline graph::Layer conv(std::string name, uint32_t out, uint32_t k, uint32_t stride, uint32_t pad, bool bias) {
  graph::Layer l = layer(std::move(name), graph::LayerKind::Conv2d);
  l.out_channels = out;
  l.kh = l.kw = k;
  l.stride_h = l.stride_w = stride;
  l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = pad;
  l.bias = bias;
  return l;
}

inline graph::Layer dense(std::string name, uint32_t units) {
  graph::Layer l = layer(std::move(name), graph::LayerKind::Dense);
  l.units = units;
  l.bias = true;
  return l;
}

inline graph::Layer pool(std::string name, graph::LayerKind kind, uint32_t k, uint32_t stride) {
  graph::Layer l = layer(std::move(name), kind);
  l.kh = l.kw = k;
  l.stride_h = l.stride_w = stride;
  return l;
}

// The network the Keras fuzz target loads weights into (keras.applications-style names that
// have legacy ResNet spellings: conv1 / bn_conv1 / res2a_branch2a / bn2a_branch2a / fc1000).
// input 3x6x6 -> conv 3x3 (4) -> BN -> ReLU -> max pool 2 -> conv 1x1 (2) -> BN -> ReLU
// -> Flatten (18) -> Dense fc1 (5) -> ReLU -> Dense predictions (3) -> Softmax.
inline graph::Network keras_network() {
  using K = graph::LayerKind;
  graph::Network net;
  net.name = "fuzz_keras";
  net.add_input({3, 6, 6}, "input_1");
  net.add(conv("conv1_conv", 4, 3, 1, 1, true));
  net.add(layer("conv1_bn", K::BatchNorm));
  net.add(layer("conv1_relu", K::Relu));
  net.add(pool("pool1_pool", K::MaxPool, 2, 2));
  net.add(conv("conv2_block1_1_conv", 2, 1, 1, 0, true));
  net.add(layer("conv2_block1_1_bn", K::BatchNorm));
  net.add(layer("conv2_block1_1_relu", K::Relu));
  net.add(layer("flatten", K::Flatten));
  net.add(dense("fc1", 5));
  net.add(layer("fc1_relu", K::Relu));
  net.add(dense("predictions", 3));
  net.add(layer("probabilities", K::Softmax));
  net.infer_shapes();
  return net;
}

// A residual network with every op the ONNX exporter writes (for the ONNX seeds):
// input 3x8x8 -> conv 3x3 s1 p1 (4, bias) -> BN -> ReLU -> max pool 2 -> conv 3x3 p1 (4, no
// bias) -> BN -> Add (with the pool) -> ReLU -> avg pool 2 -> global avg pool -> Flatten
// -> Dense (6) -> Dropout -> Dense (3) -> Softmax.
inline graph::Network onnx_network() {
  using K = graph::LayerKind;
  graph::Network net;
  net.name = "fuzz_onnx";
  net.add_input({3, 8, 8}, "input");
  net.add(conv("conv1", 4, 3, 1, 1, true));
  net.add(layer("bn1", K::BatchNorm));
  net.add(layer("relu1", K::Relu));
  const uint32_t p = net.add(pool("pool1", K::MaxPool, 2, 2));
  net.add(conv("conv2", 4, 3, 1, 1, false));
  const uint32_t b = net.add(layer("bn2", K::BatchNorm));
  graph::Layer add = layer("add", K::Add);
  add.inputs = {b, p};
  net.add(add);
  net.add(layer("relu2", K::Relu));
  graph::Layer avg = pool("avg", K::AvgPool, 2, 2);
  net.add(avg);
  net.add(layer("gap", K::GlobalAvgPool));
  net.add(layer("flatten", K::Flatten));
  net.add(dense("fc1", 6));
  net.add(layer("drop", K::Dropout));
  net.add(dense("fc2", 3));
  net.add(layer("softmax", K::Softmax));
  net.infer_shapes();
  return net;
}

// A plain VGG-like network: conv 5x5 s2 p2 -> ReLU -> avg pool 3 s1 (count_include_pad) ->
// Flatten -> Dense -> Softmax, on a 1x9x7 input.
inline graph::Network onnx_plain_network() {
  using K = graph::LayerKind;
  graph::Network net;
  net.name = "fuzz_plain";
  net.add_input({1, 9, 7}, "x");
  net.add(conv("c", 3, 5, 2, 2, true));
  net.add(layer("r", K::Relu));
  graph::Layer avg = pool("p", K::AvgPool, 3, 1);
  avg.pad_top = avg.pad_left = avg.pad_bottom = avg.pad_right = 1;
  avg.count_include_pad = true;
  net.add(avg);
  net.add(layer("f", K::Flatten));
  net.add(dense("d", 4));
  net.add(layer("s", K::Softmax));
  net.infer_shapes();
  return net;
}

}  // namespace lockstep::fuzz
