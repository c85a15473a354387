// A small network IR: a list of layers in execution order, each reading earlier layers'
// outputs, plus named float32 parameters. Importers (ONNX, Keras HDF5) and the built-in
// architectures (models/) produce it; the executor and the CPU reference run it.
//
// Conventions:
// - Activations are NCHW float32; a layer's shape is per sample (the batch is chosen when the
//   network is compiled). A dense layer's output has shape {units, 1, 1}.
// - Layer 0 is the input; every other layer lists the indices of the layers it reads
//   (Add reads two, everything else one), all smaller than its own index.
// - Parameters are stored under "<layer name>.<role>":
//     Conv2d     .weight [out][in][kh][kw] (OIHW), .bias [out] if bias
//     Dense      .weight [units][in] with `in` in the flattened NCHW order (c, h, w) of the
//                input — importers of NHWC frameworks (Keras) must permute; .bias [units]
//     BatchNorm  .gamma .beta .mean .var, each [channels]
// - BatchNorm follows the layer it normalises and is folded into a preceding Conv2d before
//   execution (fold_batchnorm); ReLU right after Conv2d/Dense/Add can be fused (fuse_relu).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lockstep::graph {

enum class LayerKind : uint8_t {
  Input, Conv2d, BatchNorm, Dense, MaxPool, AvgPool, GlobalAvgPool, Add, Relu, Softmax, Dropout, Flatten
};
const char* kind_name(LayerKind k);

struct Shape3 {
  uint32_t c = 0, h = 0, w = 0;
  uint64_t elements() const { return uint64_t(c) * h * w; }
  bool operator==(const Shape3&) const = default;
};

struct Layer {
  std::string name;
  LayerKind kind = LayerKind::Input;
  std::vector<uint32_t> inputs;
  Shape3 out;  // filled by Network::infer_shapes()

  // Conv2d, MaxPool, AvgPool
  uint32_t kh = 1, kw = 1, stride_h = 1, stride_w = 1;
  uint32_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  uint32_t out_channels = 0;       // Conv2d
  bool count_include_pad = false;  // AvgPool
  // Conv2d, Dense
  bool bias = false;
  // Conv2d, Dense, Add: ReLU fused into the layer
  bool relu = false;
  // Dense
  uint32_t units = 0;
  // BatchNorm
  double epsilon = 1e-5;
  // Dropout: drop probability (identity unless Monte-Carlo dropout is switched on)
  double dropout_p = 0.5;
};

struct Network {
  std::string name;
  std::vector<Layer> layers;
  std::map<std::string, std::vector<float>> params;

  // Adds the input layer; must be called first.
  uint32_t add_input(Shape3 shape, std::string name = "input");
  // Appends a layer reading `inputs` (default: the previous layer) and returns its index.
  uint32_t add(Layer layer);
  uint32_t output() const { return static_cast<uint32_t>(layers.size() - 1); }
  const Layer& layer(const std::string& name) const;  // throws naming the layer
  int find(const std::string& name) const;            // -1 when absent

  // Computes every layer's output shape; throws std::invalid_argument naming the layer and
  // what is wrong (bad inputs, a window larger than its input, zero sizes, ...).
  void infer_shapes();
  // The parameters each layer needs, with their element counts.
  std::vector<std::pair<std::string, uint64_t>> expected_params() const;
  // Checks that every expected parameter is present with the right count and no others are
  // left over; throws naming the parameter.
  void check_params() const;
  // Total number of multiply-accumulates per sample in Conv2d and Dense layers.
  uint64_t macs() const;
};

// Folds each BatchNorm into the Conv2d before it, in float64, rounded once:
//   w' = w * gamma / sqrt(var + eps), b' = (b - mean) * gamma / sqrt(var + eps) + beta.
// A BatchNorm that does not follow a Conv2d read by nothing else is an error.
void fold_batchnorm(Network& net);
// Fuses a Relu into the Conv2d, Dense or Add before it when nothing else reads that layer.
void fuse_relu(Network& net);

}  // namespace lockstep::graph
