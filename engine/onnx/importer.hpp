// Internal to the ONNX importer: the state of one import and the per-op converters
// (onnx_import.cpp drives, onnx_ops.cpp converts one node at a time).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <onnx/onnx_pb.h>

#include "graph/network.hpp"
#include "onnx/onnx_import.hpp"
#include "onnx/onnx_tensor.hpp"

namespace lockstep::onnx::detail {

// An activation: the layer that computes it and its ONNX rank — 4 for [N, C, H, W], 2 for
// [N, F] (the layer's shape is then {F, 1, 1}).
struct Act {
  uint32_t layer = 0;
  uint32_t rank = 4;
};

// Spatial window of Conv and the pools, with auto_pad resolved.
struct Window {
  uint32_t kh = 1, kw = 1, stride_h = 1, stride_w = 1;
  uint32_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool auto_padded = false;  // SAME_* (ceil_mode does not apply)
};

class Importer;

// A node's attributes: unknown names are an error, types are checked.
class Attrs {
 public:
  Attrs(const Importer& imp, const ::onnx::NodeProto& node, std::initializer_list<std::string_view> known);
  bool has(std::string_view name) const { return find(name) != nullptr; }
  int64_t i(std::string_view name, int64_t def) const;
  float f(std::string_view name, float def) const;
  std::string s(std::string_view name, const std::string& def) const;
  std::vector<int64_t> ints(std::string_view name, const std::vector<int64_t>& def) const;
  std::vector<float> floats(std::string_view name) const;
  const ::onnx::TensorProto* tensor(std::string_view name) const;

 private:
  const ::onnx::AttributeProto* find(std::string_view name) const;
  const ::onnx::AttributeProto* get(std::string_view name, ::onnx::AttributeProto::AttributeType type) const;
  const Importer& imp_;
  const ::onnx::NodeProto& node_;
};

class Importer {
 public:
  Importer(std::string source, const ImportOptions& options, uint64_t byte_limit);
  // `consumable`, when given, is the same model: its initializers' data are released as they
  // are converted, so a large model is not held twice.
  graph::Network run(const ::onnx::ModelProto& model, ::onnx::ModelProto* consumable);

  // Throws std::runtime_error "<source>: node #i "name" (Op): what" (or "<source>: what"
  // outside any node).
  [[noreturn]] void fail(const std::string& what) const;
  int64_t opset() const { return opset_; }

 private:
  using Converter = void (Importer::*)(const ::onnx::NodeProto&);
  static const std::map<std::string, Converter, std::less<>>& converters();

  // Setup (onnx_import.cpp).
  void read_opset(const ::onnx::ModelProto& model);
  void read_initializers(const ::onnx::GraphProto& g, ::onnx::GraphProto* consumable);
  void read_input(const ::onnx::GraphProto& g);
  void count_uses(const ::onnx::GraphProto& g);
  void finish(const ::onnx::GraphProto& g);
  void prune(uint32_t output_layer);

  // Helpers for the converters.
  std::string in(const ::onnx::NodeProto& n, int k) const;  // input k, "" when absent
  void require_inputs(const ::onnx::NodeProto& n, int min, int max) const;
  bool is_const(const std::string& value) const { return consts_.count(value) != 0; }
  Act act(const std::string& value, const char* role, uint32_t rank = 0) const;  // rank 0: 2 or 4
  const TensorData& constant(const std::string& value, const char* role) const;
  const TensorData& weight(const std::string& value, const char* role) const;  // float32
  graph::Shape3 shape(Act a) const { return net_.layers[a.layer].out; }
  std::string describe(Act a) const;  // "[N, 64, 56, 56]"
  // Nodes (and graph outputs) that read `layer` through any of its values, counting a future
  // alias node as one reader: only 1 lets a bias or BatchNorm be folded into it.
  int readers(uint32_t layer) const;
  uint32_t add_layer(graph::Layer l, std::vector<uint32_t> inputs);
  void define(const std::string& value, Act a);
  // `value` names the same layer as an earlier value (Identity, a flatten of [N, F], a folded bias).
  void alias(const std::string& value, Act a);
  void define_const(const std::string& value, TensorData t);
  Window window(const Attrs& a, graph::Shape3 in, int64_t kh, int64_t kw) const;
  uint32_t dim32(int64_t v, const std::string& what) const;
  std::vector<float> bias_values(const TensorData& c, const std::string& name, uint32_t units, bool spatial) const;
  void dense(const ::onnx::NodeProto& n, Act x, std::vector<float> weight, uint32_t units,
             std::optional<std::vector<float>> bias);
  void pool(const ::onnx::NodeProto& n, bool max);

  // One per supported op (onnx_ops.cpp).
  void op_conv(const ::onnx::NodeProto& n);
  void op_gemm(const ::onnx::NodeProto& n);
  void op_matmul(const ::onnx::NodeProto& n);
  void op_maxpool(const ::onnx::NodeProto& n) { pool(n, true); }
  void op_averagepool(const ::onnx::NodeProto& n) { pool(n, false); }
  void op_global_averagepool(const ::onnx::NodeProto& n);
  void op_batchnorm(const ::onnx::NodeProto& n);
  void op_relu(const ::onnx::NodeProto& n);
  void op_add(const ::onnx::NodeProto& n);
  void op_flatten(const ::onnx::NodeProto& n);
  void op_reshape(const ::onnx::NodeProto& n);
  void op_softmax(const ::onnx::NodeProto& n);
  void op_dropout(const ::onnx::NodeProto& n);
  void op_identity(const ::onnx::NodeProto& n);
  void op_constant(const ::onnx::NodeProto& n);

  std::string source_;
  ImportOptions options_;
  uint64_t byte_limit_;
  int64_t opset_ = 0;
  std::optional<int64_t> static_batch_;  // the input's batch dimension when fixed
  const ::onnx::NodeProto* node_ = nullptr;
  int node_index_ = -1;

  graph::Network net_;
  std::set<std::string> layer_names_;
  std::map<std::string, Act> acts_;
  std::map<std::string, TensorData> consts_;
  std::map<std::string, int> uses_;        // node inputs and graph outputs naming each value
  std::map<uint32_t, int> alias_edges_;    // per layer: values defined as aliases of it
};

// Every character other than [A-Za-z0-9_] becomes '_'.
std::string sanitize(std::string_view name);
// The shortest decimal that rounds to `f`, as a double (1e-5f -> 1e-5).
double decimal_value(float f);

}  // namespace lockstep::onnx::detail
