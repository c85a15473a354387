#include "models/models.hpp"

#include <cmath>
#include <stdexcept>

#include "numerics/philox.hpp"

namespace lockstep::models {

using graph::Layer;
using graph::LayerKind;
using graph::Network;

Layout parse_layout(const std::string& s) {
  if (s == "keras") return Layout::Keras;
  if (s == "torch" || s == "torchvision") return Layout::Torch;
  throw std::invalid_argument("layout '" + s + "' is not one of: keras, torch");
}
const char* layout_name(Layout l) { return l == Layout::Keras ? "keras" : "torch"; }

std::vector<std::string> architectures() {
  return {"vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
          "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"};
}

namespace {

Layer conv(std::string name, uint32_t out, uint32_t k, uint32_t stride, uint32_t pad, bool bias) {
  Layer l;
  l.name = std::move(name);
  l.kind = LayerKind::Conv2d;
  l.out_channels = out;
  l.kh = l.kw = k;
  l.stride_h = l.stride_w = stride;
  l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = pad;
  l.bias = bias;
  return l;
}
Layer simple(std::string name, LayerKind kind, std::vector<uint32_t> inputs = {}) {
  Layer l;
  l.name = std::move(name);
  l.kind = kind;
  l.inputs = std::move(inputs);
  return l;
}
Layer pool(std::string name, LayerKind kind, uint32_t k, uint32_t stride, uint32_t pad) {
  Layer l = simple(std::move(name), kind);
  l.kh = l.kw = k;
  l.stride_h = l.stride_w = stride;
  l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = pad;
  return l;
}
Layer dense(std::string name, uint32_t units) {
  Layer l = simple(std::move(name), LayerKind::Dense);
  l.units = units;
  l.bias = true;
  return l;
}

void classifier_head(Network& net, const ModelOptions& o) {
  net.add(dense("predictions", o.classes));
  net.add(simple("probabilities", LayerKind::Softmax));
}

Network vgg(const ModelOptions& o, const std::vector<uint32_t>& convs_per_block, bool batch_norm) {
  Network net;
  net.name = o.arch + "/" + layout_name(o.layout);
  net.add_input({3, o.input_size, o.input_size});
  const uint32_t widths[5] = {64, 128, 256, 512, 512};
  for (uint32_t b = 0; b < 5; ++b) {
    for (uint32_t i = 1; i <= convs_per_block[b]; ++i) {
      const std::string base = "block" + std::to_string(b + 1);
      net.add(conv(base + "_conv" + std::to_string(i), widths[b], 3, 1, 1, true));
      if (batch_norm) net.add(simple(base + "_bn" + std::to_string(i), LayerKind::BatchNorm));
      net.add(simple(base + "_relu" + std::to_string(i), LayerKind::Relu));
    }
    net.add(pool("block" + std::to_string(b + 1) + "_pool", LayerKind::MaxPool, 2, 2, 0));
  }
  if (!o.include_top) return net;
  net.add(simple("flatten", LayerKind::Flatten));
  for (const char* fc : {"fc1", "fc2"}) {
    net.add(dense(fc, 4096));
    net.add(simple(std::string(fc) + "_relu", LayerKind::Relu));
    if (o.layout == Layout::Torch) net.add(simple(std::string(fc) + "_dropout", LayerKind::Dropout));
  }
  classifier_head(net, o);
  return net;
}

// conv -> BN (-> ReLU); returns the index of the last layer added.
uint32_t conv_bn(Network& net, const std::string& name, uint32_t out, uint32_t k, uint32_t stride, uint32_t pad,
                 bool bias, bool relu, std::vector<uint32_t> inputs = {}) {
  Layer c = conv(name + "_conv", out, k, stride, pad, bias);
  c.inputs = std::move(inputs);
  net.add(c);
  net.add(simple(name + "_bn", LayerKind::BatchNorm));
  if (relu) net.add(simple(name + "_relu", LayerKind::Relu));
  return net.output();
}

Network resnet(const ModelOptions& o, const std::vector<uint32_t>& blocks, bool bottleneck) {
  Network net;
  net.name = o.arch + "/" + layout_name(o.layout);
  const bool keras = o.layout == Layout::Keras;
  const bool bias = keras;  // keras.applications convolutions carry biases; torchvision's do not
  net.add_input({3, o.input_size, o.input_size});
  conv_bn(net, "conv1", 64, 7, 2, 3, bias, true);
  // Keras pads with zeros (ZeroPadding2D) before this max pool, the engine skips padded taps:
  // the same result because the input is post-ReLU (>= 0).
  net.add(pool("pool1_pool", LayerKind::MaxPool, 3, 2, 1));
  uint32_t in_channels = 64;
  for (uint32_t stage = 0; stage < 4; ++stage) {
    const uint32_t width = 64u << stage;
    const uint32_t out_channels = bottleneck ? width * 4 : width;
    for (uint32_t b = 1; b <= blocks[stage]; ++b) {
      const std::string name = "conv" + std::to_string(stage + 2) + "_block" + std::to_string(b);
      const uint32_t stride = (b == 1 && stage > 0) ? 2 : 1;
      const uint32_t block_in = net.output();
      uint32_t shortcut = block_in;
      if (b == 1 && (stride != 1 || in_channels != out_channels))
        shortcut = conv_bn(net, name + "_0", out_channels, 1, stride, 0, bias, false, {block_in});
      if (bottleneck) {
        // Keras strides the first 1x1; torchvision (v1.5) strides the 3x3.
        conv_bn(net, name + "_1", width, 1, keras ? stride : 1, 0, bias, true, {block_in});
        conv_bn(net, name + "_2", width, 3, keras ? 1 : stride, 1, bias, true);
        conv_bn(net, name + "_3", out_channels, 1, 1, 0, bias, false);
      } else {
        conv_bn(net, name + "_1", width, 3, stride, 1, bias, true, {block_in});
        conv_bn(net, name + "_2", width, 3, 1, 1, bias, false);
      }
      net.add(simple(name + "_add", LayerKind::Add, {shortcut, net.output()}));
      net.add(simple(name + "_out", LayerKind::Relu));
      in_channels = out_channels;
    }
  }
  net.add(simple("avg_pool", LayerKind::GlobalAvgPool));
  if (o.include_top) classifier_head(net, o);
  return net;
}

// Standard normal from two Philox words (Box-Muller in double): portable and exact to reproduce.
double normal(uint64_t seed, uint32_t param, uint64_t i) {
  const auto r = philox4x32_10({uint32_t(i), uint32_t(i >> 32), param, 0x77u}, {uint32_t(seed), uint32_t(seed >> 32)});
  const double u1 = (double(r[0]) + 1.0) / 4294967296.0;  // (0, 1]
  const double u2 = double(r[1]) / 4294967296.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}
double uniform(uint64_t seed, uint32_t param, uint64_t i) {
  const auto r = philox4x32_10({uint32_t(i), uint32_t(i >> 32), param, 0x99u}, {uint32_t(seed), uint32_t(seed >> 32)});
  return double(r[2]) / 4294967296.0;  // [0, 1)
}

// A BatchNorm read by an Add that is not the block's projection shortcut ("_0_bn").
bool feeds_residual_branch(const Network& net, const std::string& bn_name) {
  if (bn_name.ends_with("_0_bn")) return false;
  const int index = net.find(bn_name);
  for (const Layer& l : net.layers)
    if (l.kind == LayerKind::Add)
      for (uint32_t in : l.inputs)
        if (static_cast<int>(in) == index) return true;
  return false;
}

}  // namespace

Network build(const ModelOptions& o) {
  if (o.input_size < 32) throw std::invalid_argument("input size " + std::to_string(o.input_size) + ": expected >= 32");
  if (o.input_size > 4096) throw std::invalid_argument("input size " + std::to_string(o.input_size) + ": expected <= 4096");
  if (o.classes == 0) throw std::invalid_argument("classes is 0: expected >= 1");
  Network net;
  const std::string& a = o.arch;
  if (a == "vgg11" || a == "vgg11_bn") net = vgg(o, {1, 1, 2, 2, 2}, a.ends_with("_bn"));
  else if (a == "vgg13" || a == "vgg13_bn") net = vgg(o, {2, 2, 2, 2, 2}, a.ends_with("_bn"));
  else if (a == "vgg16" || a == "vgg16_bn") net = vgg(o, {2, 2, 3, 3, 3}, a.ends_with("_bn"));
  else if (a == "vgg19" || a == "vgg19_bn") net = vgg(o, {2, 2, 4, 4, 4}, a.ends_with("_bn"));
  else if (a == "resnet18") net = resnet(o, {2, 2, 2, 2}, false);
  else if (a == "resnet34") net = resnet(o, {3, 4, 6, 3}, false);
  else if (a == "resnet50") net = resnet(o, {3, 4, 6, 3}, true);
  else if (a == "resnet101") net = resnet(o, {3, 4, 23, 3}, true);
  else if (a == "resnet152") net = resnet(o, {3, 8, 36, 3}, true);
  else {
    std::string list;
    for (const auto& n : architectures()) list += (list.empty() ? "" : ", ") + n;
    throw std::invalid_argument("model '" + a + "' is not one of: " + list);
  }
  for (Layer& l : net.layers)
    if (l.kind == LayerKind::BatchNorm) l.epsilon = o.layout == Layout::Keras ? 1.001e-5 : 1e-5;
  net.infer_shapes();
  return net;
}

void init_synthetic(Network& net, uint64_t seed, double input_std) {
  if (!(input_std > 0.0)) throw std::invalid_argument("input_std must be > 0");
  bool first_conv = true;
  net.params.clear();
  uint32_t param_index = 0;
  for (const auto& [name, count] : net.expected_params()) {
    const uint32_t p = param_index++;
    std::vector<float> v(count);
    const std::string role = name.substr(name.rfind('.'));
    const graph::Layer& l = net.layer(name.substr(0, name.rfind('.')));
    if (role == ".weight") {
      const double fan_in = double(count) / double(l.kind == LayerKind::Conv2d ? l.out_channels : l.units);
      // The classifier as torchvision initialises it (normal, std 0.01), so that the logits
      // stay in a range where the probabilities are not one-hot.
      double std_dev = l.name == "predictions" ? 0.01 : std::sqrt(2.0 / fan_in);
      if (l.kind == LayerKind::Conv2d && first_conv) {
        std_dev /= input_std;
        first_conv = false;
      }
      for (uint64_t i = 0; i < count; ++i) v[i] = static_cast<float>(normal(seed, p, i) * std_dev);
    } else {
      // bias and beta in [-0.05, 0.05); mean in [-0.1, 0.1); gamma and var in [0.5, 1.5), except
      // the gamma closing a residual branch, in [0.1, 0.3): otherwise every residual add would
      // double the activations' variance and a deep ResNet's logits would saturate the softmax.
      const bool closes_branch = role == ".gamma" && feeds_residual_branch(net, l.name);
      double lo = role == ".gamma" || role == ".var" ? 0.5 : role == ".mean" ? -0.1 : -0.05;
      double span = role == ".gamma" || role == ".var" ? 1.0 : role == ".mean" ? 0.2 : 0.1;
      if (closes_branch) lo = 0.1, span = 0.2;
      for (uint64_t i = 0; i < count; ++i) v[i] = static_cast<float>(lo + span * uniform(seed, p, i));
    }
    net.params[name] = std::move(v);
  }
}

}  // namespace lockstep::models
