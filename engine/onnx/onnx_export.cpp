#include "onnx/onnx_export.hpp"

#include "util/atomic_file.hpp"

#include <fstream>
#include <set>
#include <stdexcept>

#include "onnx/onnx_tensor.hpp"

namespace lockstep::onnx {

using graph::Layer;
using graph::LayerKind;

namespace {

class Writer {
 public:
  Writer(const graph::Network& net, int opset, ::onnx::ModelProto& model)
      : net_(net), opset_(opset), g_(*model.mutable_graph()) {
    for (const Layer& l : net.layers) names_.insert(l.name);
  }

  void write() {
    const auto& layers = shaped_.layers;
    value_.resize(layers.size());
    rank_.resize(layers.size());
    input(layers[0]);
    for (uint32_t i = 1; i < layers.size(); ++i) layer(i, layers[i]);
    output(layers.size() - 1);
  }

  graph::Network shaped_;  // the layers with their shapes inferred (no parameters)

 private:
  // A node name (also its output's value name) not used before; an extra node (a Flatten or
  // fused Relu written out) never takes a layer's name, so every layer keeps its own.
  std::string unique(const std::string& base, bool is_layer) {
    std::string n = base;
    for (int k = 2; used_.count(n) || (!is_layer && names_.count(n)); ++k) n = base + "_" + std::to_string(k);
    used_.insert(n);
    return n;
  }
  ::onnx::NodeProto& node(const std::string& op, const std::string& name, std::vector<std::string> inputs,
                          bool is_layer = true) {
    ::onnx::NodeProto& n = *g_.add_node();
    n.set_op_type(op);
    n.set_name(unique(name, is_layer));
    for (auto& i : inputs) n.add_input(i);
    n.add_output(n.name());
    return n;
  }
  static void ints(::onnx::NodeProto& n, const std::string& name, std::vector<int64_t> v) {
    auto& a = *n.add_attribute();
    a.set_name(name);
    a.set_type(::onnx::AttributeProto::INTS);
    for (int64_t x : v) a.add_ints(x);
  }
  static void integer(::onnx::NodeProto& n, const std::string& name, int64_t v) {
    auto& a = *n.add_attribute();
    a.set_name(name);
    a.set_type(::onnx::AttributeProto::INT);
    a.set_i(v);
  }
  static void real(::onnx::NodeProto& n, const std::string& name, float v) {
    auto& a = *n.add_attribute();
    a.set_name(name);
    a.set_type(::onnx::AttributeProto::FLOAT);
    a.set_f(v);
  }
  std::string param(const std::string& name, std::vector<int64_t> dims) {
    set_float_tensor(*g_.add_initializer(), name, dims, net_.params.at(name));
    return name;
  }
  void window(::onnx::NodeProto& n, const Layer& l) {
    ints(n, "kernel_shape", {l.kh, l.kw});
    ints(n, "pads", {l.pad_top, l.pad_left, l.pad_bottom, l.pad_right});
    ints(n, "strides", {l.stride_h, l.stride_w});
  }
  // The value of layer `i` as [N, features] (a Flatten node where it is 4-D).
  std::string flat(uint32_t i, const std::string& name) {
    if (rank_[i] == 2) return value_[i];
    ::onnx::NodeProto& n = node("Flatten", name + "_flatten", {value_[i]}, false);
    integer(n, "axis", 1);
    return n.output(0);
  }
  void type(::onnx::ValueInfoProto& vi, const std::string& name, const graph::Shape3& s, uint32_t rank) {
    vi.set_name(name);
    auto& tt = *vi.mutable_type()->mutable_tensor_type();
    tt.set_elem_type(::onnx::TensorProto::FLOAT);
    auto& shape = *tt.mutable_shape();
    shape.add_dim()->set_dim_param("N");
    shape.add_dim()->set_dim_value(rank == 2 ? int64_t(s.elements()) : s.c);
    if (rank == 4) {
      shape.add_dim()->set_dim_value(s.h);
      shape.add_dim()->set_dim_value(s.w);
    }
  }

  void input(const Layer& l) {
    used_.insert(l.name);
    type(*g_.add_input(), l.name, l.out, 4);
    value_[0] = l.name;
    rank_[0] = 4;
  }

  void output(uint32_t last) { type(*g_.add_output(), value_[last], shaped_.layers[last].out, rank_[last]); }

  void layer(uint32_t i, const Layer& l) {
    const uint32_t src = l.inputs.at(0);
    const std::string& x = value_[src];
    const graph::Shape3 in = shaped_.layers[src].out;
    uint32_t rank = rank_[src];
    std::string out;
    switch (l.kind) {
      case LayerKind::Conv2d:
      case LayerKind::MaxPool:
      case LayerKind::AvgPool:
      case LayerKind::GlobalAvgPool:
      case LayerKind::BatchNorm:
        if (rank != 4 && l.kind != LayerKind::BatchNorm)
          throw std::invalid_argument("export_onnx: layer '" + l.name + "' (" + graph::kind_name(l.kind) +
                                      ") follows a 2-D [N, features] tensor");
        break;
      default: break;
    }
    switch (l.kind) {
      case LayerKind::Conv2d: {
        std::vector<std::string> ins = {x, param(l.name + ".weight", {l.out_channels, in.c, l.kh, l.kw})};
        if (l.bias) ins.push_back(param(l.name + ".bias", {l.out_channels}));
        ::onnx::NodeProto& n = node("Conv", l.name, ins);
        ints(n, "dilations", {1, 1});
        integer(n, "group", 1);
        window(n, l);
        out = n.output(0);
        break;
      }
      case LayerKind::BatchNorm: {
        const int64_t c = in.c;
        ::onnx::NodeProto& n = node("BatchNormalization", l.name,
                                    {x, param(l.name + ".gamma", {c}), param(l.name + ".beta", {c}),
                                     param(l.name + ".mean", {c}), param(l.name + ".var", {c})});
        real(n, "epsilon", static_cast<float>(l.epsilon));
        real(n, "momentum", 0.9f);
        out = n.output(0);
        break;
      }
      case LayerKind::Dense: {
        const std::string a = flat(src, l.name);
        std::vector<std::string> ins = {a, param(l.name + ".weight", {l.units, int64_t(in.elements())})};
        if (l.bias) ins.push_back(param(l.name + ".bias", {l.units}));
        ::onnx::NodeProto& n = node("Gemm", l.name, ins);
        real(n, "alpha", 1.0f);
        real(n, "beta", 1.0f);
        integer(n, "transB", 1);
        out = n.output(0);
        rank = 2;
        break;
      }
      case LayerKind::MaxPool:
      case LayerKind::AvgPool: {
        const bool max = l.kind == LayerKind::MaxPool;
        ::onnx::NodeProto& n = node(max ? "MaxPool" : "AveragePool", l.name, {x});
        integer(n, "ceil_mode", 0);
        if (!max) integer(n, "count_include_pad", l.count_include_pad ? 1 : 0);
        window(n, l);
        out = n.output(0);
        break;
      }
      case LayerKind::GlobalAvgPool: out = node("GlobalAveragePool", l.name, {x}).output(0); break;
      case LayerKind::Add: out = node("Add", l.name, {x, value_[l.inputs.at(1)]}).output(0); break;
      case LayerKind::Relu: out = node("Relu", l.name, {x}).output(0); break;
      case LayerKind::Softmax: {
        ::onnx::NodeProto& n = node("Softmax", l.name, {flat(src, l.name)});
        integer(n, "axis", opset_ < 13 ? 1 : -1);  // both: the feature axis of [N, features]
        out = n.output(0);
        rank = 2;
        break;
      }
      case LayerKind::Dropout: {
        if (opset_ < 12) {
          ::onnx::NodeProto& n = node("Dropout", l.name, {x});
          real(n, "ratio", static_cast<float>(l.dropout_p));
          out = n.output(0);
        } else {
          const float p = static_cast<float>(l.dropout_p);
          set_float_tensor(*g_.add_initializer(), l.name + ".ratio", {}, std::span<const float>(&p, 1));
          out = node("Dropout", l.name, {x, l.name + ".ratio"}).output(0);
        }
        break;
      }
      case LayerKind::Flatten:
        if (rank == 2) {
          out = x;
        } else {
          ::onnx::NodeProto& n = node("Flatten", l.name, {x});
          integer(n, "axis", 1);
          out = n.output(0);
          rank = 2;
        }
        break;
      case LayerKind::Input: throw std::invalid_argument("export_onnx: layer '" + l.name + "' is a second input");
    }
    if (l.relu && (l.kind == LayerKind::Conv2d || l.kind == LayerKind::Dense || l.kind == LayerKind::Add))
      out = node("Relu", l.name + "_relu", {out}, false).output(0);
    value_[i] = out;
    rank_[i] = rank;
  }

  const graph::Network& net_;
  int opset_;
  ::onnx::GraphProto& g_;
  std::set<std::string> names_, used_;
  std::vector<std::string> value_;
  std::vector<uint32_t> rank_;
};

}  // namespace

::onnx::ModelProto export_onnx(const graph::Network& net, int opset) {
  if (opset < 11 || opset > 17) throw std::invalid_argument("export_onnx: opset " + std::to_string(opset) + " (11 to 17)");
  ::onnx::ModelProto model;
  Writer w(net, opset, model);
  // Shapes on a copy of the layers only: the parameters may be hundreds of MB.
  w.shaped_.name = net.name;
  w.shaped_.layers = net.layers;
  w.shaped_.infer_shapes();
  for (const auto& [name, count] : w.shaped_.expected_params()) {
    auto it = net.params.find(name);
    if (it == net.params.end() || it->second.size() != count)
      throw std::invalid_argument("export_onnx: parameter '" + name + "' is missing or does not have " +
                                  std::to_string(count) + " values");
  }
  model.set_ir_version(opset <= 11 ? 6 : opset <= 14 ? 7 : 8);
  model.set_producer_name("lockstep");
  model.set_producer_version("0.1");
  auto& o = *model.add_opset_import();
  o.set_domain("");
  o.set_version(opset);
  model.mutable_graph()->set_name(net.name);
  w.write();
  return model;
}

void save_onnx(const graph::Network& net, const std::string& path, int opset) {
  const ::onnx::ModelProto model = export_onnx(net, opset);
  std::string bytes;
  if (!model.SerializeToString(&bytes))
    throw std::runtime_error(path + ": cannot serialise the ONNX model (a model over 2 GB cannot be one protobuf)");
  util::write_file_atomically(path, {bytes});  // a temporary, renamed into place when complete
}

}  // namespace lockstep::onnx
