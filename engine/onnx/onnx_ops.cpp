// One converter per supported ONNX operator (what each accepts: onnx_import.hpp).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "onnx/importer.hpp"
#include "tensor/shapes.hpp"

namespace lockstep::onnx::detail {

using ::onnx::AttributeProto;
using ::onnx::NodeProto;
using graph::Layer;
using graph::LayerKind;

namespace {
std::string list(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t x : v) s += (s.empty() ? "" : ", ") + std::to_string(x);
  return "[" + s + "]";
}
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
const char* type_name(int t) {
  return AttributeProto::AttributeType_IsValid(t)
             ? AttributeProto::AttributeType_Name(static_cast<AttributeProto::AttributeType>(t)).c_str()
             : "?";
}
}  // namespace

// ---- attributes ---------------------------------------------------------------------------

Attrs::Attrs(const Importer& imp, const NodeProto& node, std::initializer_list<std::string_view> known)
    : imp_(imp), node_(node) {
  for (const auto& a : node.attribute()) {
    if (std::find(known.begin(), known.end(), a.name()) != known.end()) continue;
    std::string names;
    for (auto k : known) names += (names.empty() ? "" : ", ") + std::string(k);
    imp.fail("attribute '" + a.name() + "' is not supported" + (names.empty() ? " (the op takes none)" : " (known: " + names + ")"));
  }
}

const AttributeProto* Attrs::find(std::string_view name) const {
  for (const auto& a : node_.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

const AttributeProto* Attrs::get(std::string_view name, AttributeProto::AttributeType type) const {
  const AttributeProto* a = find(name);
  if (a && a->type() != AttributeProto::UNDEFINED && a->type() != type)
    imp_.fail("attribute '" + std::string(name) + "' has type " + type_name(a->type()) + ", expected " + type_name(type));
  return a;
}

int64_t Attrs::i(std::string_view name, int64_t def) const {
  const AttributeProto* a = get(name, AttributeProto::INT);
  return a ? a->i() : def;
}
float Attrs::f(std::string_view name, float def) const {
  const AttributeProto* a = get(name, AttributeProto::FLOAT);
  return a ? a->f() : def;
}
std::string Attrs::s(std::string_view name, const std::string& def) const {
  const AttributeProto* a = get(name, AttributeProto::STRING);
  return a ? a->s() : def;
}
std::vector<int64_t> Attrs::ints(std::string_view name, const std::vector<int64_t>& def) const {
  const AttributeProto* a = get(name, AttributeProto::INTS);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : def;
}
std::vector<float> Attrs::floats(std::string_view name) const {
  const AttributeProto* a = get(name, AttributeProto::FLOATS);
  return a ? std::vector<float>(a->floats().begin(), a->floats().end()) : std::vector<float>{};
}
const ::onnx::TensorProto* Attrs::tensor(std::string_view name) const {
  const AttributeProto* a = get(name, AttributeProto::TENSOR);
  return a ? &a->t() : nullptr;
}

// ---- helpers ------------------------------------------------------------------------------

std::string Importer::in(const NodeProto& n, int k) const { return k < n.input_size() ? n.input(k) : std::string(); }

void Importer::require_inputs(const NodeProto& n, int min, int max) const {
  if (n.input_size() < min || n.input_size() > max || n.input(0).empty())
    fail("has " + std::to_string(n.input_size()) + " inputs: expected " + std::to_string(min) +
         (max > min ? " to " + std::to_string(max) : ""));
}

Act Importer::act(const std::string& value, const char* role, uint32_t rank) const {
  auto it = acts_.find(value);
  if (it == acts_.end()) {
    if (is_const(value))
      fail(std::string(role) + " '" + value + "' is a constant: expected an activation computed from the input");
    fail(std::string(role) + " '" + value + "' is not defined by an earlier node, an initializer or the graph input");
  }
  if (rank != 0 && it->second.rank != rank)
    fail(std::string(role) + " '" + value + "' has shape " + describe(it->second) + ": expected rank " + std::to_string(rank) +
         (rank == 4 ? " [N, C, H, W]" : " [N, features] (insert a Flatten before it)"));
  return it->second;
}

const TensorData& Importer::constant(const std::string& value, const char* role) const {
  auto it = consts_.find(value);
  if (it != consts_.end()) return it->second;
  if (acts_.count(value))
    fail(std::string(role) + " '" + value +
         "' is computed by the graph or fed as a graph input: it must be an initializer or a Constant");
  fail(std::string(role) + " '" + value + "' is not defined by an earlier node or an initializer");
}

const TensorData& Importer::weight(const std::string& value, const char* role) const {
  const TensorData& t = constant(value, role);
  if (!t.is_float())
    fail(std::string(role) + " '" + value + "' has element type " + dtype_name(t.dtype) + ": only float32 is supported");
  return t;
}

std::string Importer::describe(Act a) const {
  const graph::Shape3 s = shape(a);
  if (a.rank == 2) return "[N, " + std::to_string(s.c) + "]";
  return "[N, " + std::to_string(s.c) + ", " + std::to_string(s.h) + ", " + std::to_string(s.w) + "]";
}

uint32_t Importer::dim32(int64_t v, const std::string& what) const {
  if (v < 1 || v > int64_t(kMaxTensorElements))
    fail(what + " is " + std::to_string(v) + ": expected 1 to " + std::to_string(kMaxTensorElements));
  return static_cast<uint32_t>(v);
}

uint32_t Importer::add_layer(Layer l, std::vector<uint32_t> inputs) {
  std::string base = sanitize(node_->name().empty() ? node_->output(0) : node_->name());
  if (base.empty()) base = "node" + std::to_string(node_index_);
  std::string name = base;
  for (int k = 2; layer_names_.count(name); ++k) name = base + "_" + std::to_string(k);
  layer_names_.insert(name);
  l.name = name;
  l.inputs = std::move(inputs);
  net_.layers.push_back(std::move(l));
  try {
    net_.infer_shapes();
  } catch (const std::invalid_argument& e) {
    fail(e.what());
  }
  return net_.output();
}

void Importer::define(const std::string& value, Act a) {
  if (value.empty()) fail("the node has an empty output name");
  if (acts_.count(value) || consts_.count(value)) fail("value '" + value + "' is defined twice");
  acts_[value] = a;
}

void Importer::alias(const std::string& value, Act a) {
  define(value, a);
  alias_edges_[a.layer]++;
}

void Importer::define_const(const std::string& value, TensorData t) {
  if (value.empty()) fail("a constant has an empty name");
  if (acts_.count(value) || consts_.count(value)) fail("value '" + value + "' is defined twice");
  consts_.emplace(value, std::move(t));
}

Window Importer::window(const Attrs& a, graph::Shape3 in, int64_t kh, int64_t kw) const {
  Window w;
  w.kh = dim32(kh, "kernel height");
  w.kw = dim32(kw, "kernel width");
  const auto strides = a.ints("strides", {1, 1});
  if (strides.size() != 2) fail("strides " + list(strides) + ": expected 2 values (2-D only)");
  w.stride_h = dim32(strides[0], "stride height");
  w.stride_w = dim32(strides[1], "stride width");
  const auto pads = a.ints("pads", {0, 0, 0, 0});
  if (pads.size() != 4) fail("pads " + list(pads) + ": expected 4 values [top, left, bottom, right]");
  for (int64_t p : pads)
    if (p < 0 || p > int64_t(kMaxTensorElements)) fail("pads " + list(pads) + ": expected non-negative values");
  const std::string auto_pad = a.s("auto_pad", "NOTSET");
  const bool explicit_pads = a.has("pads") && std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p != 0; });
  if (auto_pad == "NOTSET") {
    w.pad_top = uint32_t(pads[0]), w.pad_left = uint32_t(pads[1]), w.pad_bottom = uint32_t(pads[2]);
    w.pad_right = uint32_t(pads[3]);
  } else if (auto_pad == "VALID") {
    if (explicit_pads) fail("auto_pad VALID with non-zero pads " + list(pads));
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    if (explicit_pads) fail("auto_pad " + auto_pad + " with explicit pads " + list(pads));
    // Output ceil(in / stride); the total padding split evenly, the odd one at the end (UPPER)
    // or the beginning (LOWER).
    auto same = [&](uint32_t size, uint32_t k, uint32_t s, uint32_t& begin, uint32_t& end) {
      const uint64_t out = (uint64_t(size) + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, int64_t((out - 1) * s + k) - int64_t(size));
      const int64_t half = total / 2;
      begin = uint32_t(auto_pad == "SAME_UPPER" ? half : total - half);
      end = uint32_t(total - begin);
    };
    same(in.h, w.kh, w.stride_h, w.pad_top, w.pad_bottom);
    same(in.w, w.kw, w.stride_w, w.pad_left, w.pad_right);
    w.auto_padded = true;
  } else {
    fail("auto_pad '" + auto_pad + "' is not supported: NOTSET, VALID, SAME_UPPER or SAME_LOWER");
  }
  return w;
}

namespace {
void apply(Layer& l, const Window& w) {
  l.kh = w.kh, l.kw = w.kw, l.stride_h = w.stride_h, l.stride_w = w.stride_w;
  l.pad_top = w.pad_top, l.pad_left = w.pad_left, l.pad_bottom = w.pad_bottom, l.pad_right = w.pad_right;
}
}  // namespace

// A bias of `units` values: [units], [1, units], a scalar broadcast, or (spatial, for a Conv)
// [units, 1, 1] / [1, units, 1, 1].
std::vector<float> Importer::bias_values(const TensorData& c, const std::string& name, uint32_t units,
                                         bool spatial) const {
  if (c.count == 1) return std::vector<float>(units, c.f[0]);
  std::vector<int64_t> d = c.dims;
  const size_t trailing = spatial ? 3 : 1;  // units, then 1, 1 for a Conv's [C, 1, 1]
  bool ok = c.count == units && d.size() >= trailing && d[d.size() - trailing] == int64_t(units);
  if (ok) {
    for (size_t k = 0; k < d.size(); ++k)
      if (k != d.size() - trailing && d[k] != 1) ok = false;
  }
  if (!ok)
    fail("bias '" + name + "' has shape " + list(c.dims) + ": expected " + std::to_string(units) + " values shaped " +
         (spatial ? "[C, 1, 1] or [1, C, 1, 1]" : "[units] or [1, units]") + " or a scalar (per-row or per-pixel bias is not supported)");
  return c.f;
}

void Importer::dense(const NodeProto& n, Act x, std::vector<float> w, uint32_t units, std::optional<std::vector<float>> bias) {
  Layer l;
  l.kind = LayerKind::Dense;
  l.units = units;
  l.bias = bias.has_value();
  const uint32_t i = add_layer(l, {x.layer});
  const std::string& name = net_.layers[i].name;
  net_.params[name + ".weight"] = std::move(w);
  if (bias) net_.params[name + ".bias"] = std::move(*bias);
  define(n.output(0), {i, 2});
}

// ---- converters ---------------------------------------------------------------------------

const std::map<std::string, Importer::Converter, std::less<>>& Importer::converters() {
  static const std::map<std::string, Converter, std::less<>> table = {
      {"Conv", &Importer::op_conv},
      {"Gemm", &Importer::op_gemm},
      {"MatMul", &Importer::op_matmul},
      {"MaxPool", &Importer::op_maxpool},
      {"AveragePool", &Importer::op_averagepool},
      {"GlobalAveragePool", &Importer::op_global_averagepool},
      {"BatchNormalization", &Importer::op_batchnorm},
      {"Relu", &Importer::op_relu},
      {"Add", &Importer::op_add},
      {"Flatten", &Importer::op_flatten},
      {"Reshape", &Importer::op_reshape},
      {"Softmax", &Importer::op_softmax},
      {"Dropout", &Importer::op_dropout},
      {"Identity", &Importer::op_identity},
      {"Constant", &Importer::op_constant},
  };
  return table;
}

void Importer::op_conv(const NodeProto& n) {
  Attrs a(*this, n, {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"});
  require_inputs(n, 2, 3);
  const Act x = act(n.input(0), "input X", 4);
  const TensorData& w = weight(n.input(1), "weight W");
  if (w.dims.size() != 4) fail("weight '" + n.input(1) + "' has shape " + list(w.dims) + ": expected [out][in][kh][kw] (2-D convolution only)");
  if (a.i("group", 1) != 1)
    fail("group " + std::to_string(a.i("group", 1)) + " is not supported: only group 1 (no grouped or depthwise convolution)");
  const auto dil = a.ints("dilations", {1, 1});
  if (dil != std::vector<int64_t>{1, 1}) fail("dilations " + list(dil) + " are not supported: only [1, 1]");
  const auto ks = a.ints("kernel_shape", {w.dims[2], w.dims[3]});
  if (ks != std::vector<int64_t>{w.dims[2], w.dims[3]})
    fail("kernel_shape " + list(ks) + " does not match the weight's shape " + list(w.dims));
  const graph::Shape3 s = shape(x);
  if (w.dims[1] != int64_t(s.c))
    fail("weight '" + n.input(1) + "' has shape " + list(w.dims) + " for " + std::to_string(w.dims[1]) +
         " input channels but the input " + describe(x) + " has " + std::to_string(s.c));
  Layer l;
  l.kind = LayerKind::Conv2d;
  l.out_channels = dim32(w.dims[0], "output channels");
  apply(l, window(a, s, w.dims[2], w.dims[3]));
  const std::string b = in(n, 2);
  std::vector<float> bias;
  if (!b.empty()) {
    const TensorData& bt = weight(b, "bias B");
    if (bt.dims.size() != 1 || bt.count != l.out_channels)
      fail("bias '" + b + "' has shape " + list(bt.dims) + ": expected [" + std::to_string(l.out_channels) + "]");
    bias = bt.f;
    l.bias = true;
  }
  const uint32_t i = add_layer(l, {x.layer});
  const std::string& name = net_.layers[i].name;
  net_.params[name + ".weight"] = w.f;
  if (l.bias) net_.params[name + ".bias"] = std::move(bias);
  define(n.output(0), {i, 4});
}

void Importer::op_gemm(const NodeProto& n) {
  Attrs a(*this, n, {"alpha", "beta", "transA", "transB"});
  require_inputs(n, 2, 3);
  const std::string c = in(n, 2);
  if (a.f("alpha", 1.0f) != 1.0f) fail("alpha " + num(a.f("alpha", 1.0f)) + " is not supported: only 1");
  if (!c.empty() && a.f("beta", 1.0f) != 1.0f) fail("beta " + num(a.f("beta", 1.0f)) + " is not supported: only 1");
  if (a.i("transA", 0) != 0) fail("transA 1 is not supported: the input must be [N, features]");
  const int64_t trans_b = a.i("transB", 0);
  if (trans_b != 0 && trans_b != 1) fail("transB " + std::to_string(trans_b) + ": expected 0 or 1");
  const Act x = act(n.input(0), "input A", 2);
  const uint32_t features = shape(x).c;
  const TensorData& b = weight(n.input(1), "weight B");
  if (b.dims.size() != 2) fail("weight '" + n.input(1) + "' has shape " + list(b.dims) + ": expected a matrix");
  const int64_t in_dim = trans_b ? b.dims[1] : b.dims[0];
  const uint32_t units = dim32(trans_b ? b.dims[0] : b.dims[1], "units");
  if (in_dim != features)
    fail("weight '" + n.input(1) + "' has shape " + list(b.dims) + " (transB " + std::to_string(trans_b) + ") for " +
         std::to_string(in_dim) + " input features but the input " + describe(x) + " has " + std::to_string(features));
  std::vector<float> w = b.f;
  if (!trans_b)  // [in][units] -> [units][in]
    for (uint64_t u = 0; u < units; ++u)
      for (uint64_t k = 0; k < features; ++k) w[u * features + k] = b.f[k * units + u];
  std::optional<std::vector<float>> bias;
  if (!c.empty()) bias = bias_values(weight(c, "bias C"), c, units, false);
  dense(n, x, std::move(w), units, std::move(bias));
}

void Importer::op_matmul(const NodeProto& n) {
  Attrs a(*this, n, {});
  require_inputs(n, 2, 2);
  const Act x = act(n.input(0), "input A", 2);
  const uint32_t features = shape(x).c;
  const TensorData& b = weight(n.input(1), "weight B");
  if (b.dims.size() != 2 || b.dims[0] != int64_t(features))
    fail("weight '" + n.input(1) + "' has shape " + list(b.dims) + ": expected [" + std::to_string(features) +
         ", units] for the input " + describe(x));
  const uint32_t units = dim32(b.dims[1], "units");
  std::vector<float> w(b.count);
  for (uint64_t u = 0; u < units; ++u)
    for (uint64_t k = 0; k < features; ++k) w[u * features + k] = b.f[k * units + u];
  dense(n, x, std::move(w), units, std::nullopt);
}

void Importer::pool(const NodeProto& n, bool max) {
  Attrs a = max ? Attrs(*this, n, {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"})
                : Attrs(*this, n, {"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"});
  require_inputs(n, 1, 1);
  const Act x = act(n.input(0), "input X", 4);
  const auto ks = a.ints("kernel_shape", {});
  if (ks.size() != 2) fail("kernel_shape " + list(ks) + ": expected 2 values (2-D pooling only)");
  const auto dil = a.ints("dilations", {1, 1});
  if (dil != std::vector<int64_t>{1, 1}) fail("dilations " + list(dil) + " are not supported: only [1, 1]");
  if (max && a.i("storage_order", 0) != 0) fail("storage_order 1 (column-major indices) is not supported");
  const graph::Shape3 s = shape(x);
  const Window w = window(a, s, ks[0], ks[1]);
  const int64_t ceil_mode = a.i("ceil_mode", 0);
  if (ceil_mode != 0 && ceil_mode != 1) fail("ceil_mode " + std::to_string(ceil_mode) + ": expected 0 or 1");
  // ceil_mode changes nothing where every window fits exactly; elsewhere it adds a partial
  // window the engine does not have.
  const uint64_t padded_h = uint64_t(s.h) + w.pad_top + w.pad_bottom, padded_w = uint64_t(s.w) + w.pad_left + w.pad_right;
  if (ceil_mode == 1 && !w.auto_padded && padded_h >= w.kh && padded_w >= w.kw &&
      ((padded_h - w.kh) % w.stride_h != 0 || (padded_w - w.kw) % w.stride_w != 0))
    fail("ceil_mode 1 is not supported where it adds a partial window (input " + describe(x) + ", kernel " + list(ks) +
         ", strides " + list({w.stride_h, w.stride_w}) + "): only ceil_mode 0");
  Layer l;
  l.kind = max ? LayerKind::MaxPool : LayerKind::AvgPool;
  apply(l, w);
  if (!max) {
    const int64_t cip = a.i("count_include_pad", 0);
    if (cip != 0 && cip != 1) fail("count_include_pad " + std::to_string(cip) + ": expected 0 or 1");
    l.count_include_pad = cip == 1;
  }
  define(n.output(0), {add_layer(l, {x.layer}), 4});
}

void Importer::op_global_averagepool(const NodeProto& n) {
  Attrs a(*this, n, {});
  require_inputs(n, 1, 1);
  const Act x = act(n.input(0), "input X", 4);
  Layer l;
  l.kind = LayerKind::GlobalAvgPool;
  define(n.output(0), {add_layer(l, {x.layer}), 4});
}

void Importer::op_batchnorm(const NodeProto& n) {
  // Before opset 7 the default is training (is_test 0): only is_test 1 is inference.
  Attrs a = opset_ < 7 ? Attrs(*this, n, {"epsilon", "momentum", "spatial", "is_test", "consumed_inputs"})
                       : Attrs(*this, n, {"epsilon", "momentum", "spatial", "training_mode"});
  require_inputs(n, 5, 5);
  if (opset_ < 7 && a.i("is_test", 0) != 1) fail("is_test 0 (training, the default before opset 7) is not supported");
  if (a.i("training_mode", 0) != 0) fail("training_mode 1 is not supported: only inference (running statistics)");
  if (a.i("spatial", 1) != 1) fail("spatial 0 (per-pixel statistics) is not supported: only spatial 1");
  const Act x = act(n.input(0), "input X");
  const uint32_t c = shape(x).c;
  const char* roles[4] = {"scale", "bias B", "mean", "var"};
  const TensorData* p[4];
  for (int k = 0; k < 4; ++k) {
    p[k] = &weight(n.input(k + 1), roles[k]);
    if (p[k]->count != c)
      fail(std::string(roles[k]) + " '" + n.input(k + 1) + "' has shape " + list(p[k]->dims) + ": expected " +
           std::to_string(c) + " values, one per channel of " + describe(x));
  }
  const double eps = decimal_value(a.f("epsilon", 1e-5f));
  if (!(eps >= 0.0)) fail("epsilon must be >= 0");
  const Layer& producer = net_.layers[x.layer];
  if (producer.kind == LayerKind::Conv2d && readers(x.layer) == 1) {
    // Folded into the Conv by graph::prepare, as for the built-in networks.
    Layer l;
    l.kind = LayerKind::BatchNorm;
    l.epsilon = eps;
    const uint32_t i = add_layer(l, {x.layer});
    const std::string& name = net_.layers[i].name;
    net_.params[name + ".gamma"] = p[0]->f;
    net_.params[name + ".beta"] = p[1]->f;
    net_.params[name + ".mean"] = p[2]->f;
    net_.params[name + ".var"] = p[3]->f;
    define(n.output(0), {i, x.rank});
    return;
  }
  // Nothing to fold into: a 1x1 convolution with a diagonal weight (C*C weights).
  if (c > 8192)
    fail("a BatchNormalization that does not follow a Conv read only by it runs as a CxC 1x1 convolution; " +
         std::to_string(c) + " channels is too many (at most 8192)");
  std::vector<float> w(uint64_t(c) * c, 0.0f), b(c);
  for (uint32_t k = 0; k < c; ++k) {
    const double scale = double(p[0]->f[k]) / std::sqrt(double(p[3]->f[k]) + eps);
    w[uint64_t(k) * c + k] = static_cast<float>(scale);
    b[k] = static_cast<float>(double(p[1]->f[k]) - double(p[2]->f[k]) * scale);
  }
  Layer l;
  l.kind = LayerKind::Conv2d;
  l.out_channels = c;
  l.bias = true;
  const uint32_t i = add_layer(l, {x.layer});
  net_.params[net_.layers[i].name + ".weight"] = std::move(w);
  net_.params[net_.layers[i].name + ".bias"] = std::move(b);
  define(n.output(0), {i, x.rank});
}

void Importer::op_relu(const NodeProto& n) {
  Attrs a(*this, n, {});
  require_inputs(n, 1, 1);
  const Act x = act(n.input(0), "input X");
  Layer l;
  l.kind = LayerKind::Relu;
  define(n.output(0), {add_layer(l, {x.layer}), x.rank});
}

void Importer::op_add(const NodeProto& n) {
  Attrs a(*this, n, {});
  require_inputs(n, 2, 2);
  const bool ca = is_const(n.input(0)), cb = is_const(n.input(1));
  if (ca && cb) fail("both inputs are constants: only an Add of two activations, or a bias after MatMul/Gemm/Conv");
  if (!ca && !cb) {
    const Act x = act(n.input(0), "input A"), y = act(n.input(1), "input B");
    if (x.rank != y.rank || !(shape(x) == shape(y)))
      fail("inputs '" + n.input(0) + "' " + describe(x) + " and '" + n.input(1) + "' " + describe(y) +
           " differ in shape: broadcasting is not supported");
    Layer l;
    l.kind = LayerKind::Add;
    define(n.output(0), {add_layer(l, {x.layer, y.layer}), x.rank});
    return;
  }
  // A constant: the bias of the MatMul/Gemm/Conv just before, when that has none and nothing
  // else reads it (keras2onnx / tf2onnx write Dense as MatMul + Add).
  const std::string& av = ca ? n.input(1) : n.input(0);
  const std::string& cv = ca ? n.input(0) : n.input(1);
  const Act x = act(av, "input");
  const TensorData& c = weight(cv, "bias");
  Layer& p = net_.layers[x.layer];
  const bool sole = x.layer != 0 && readers(x.layer) == 1 && !p.bias;
  if (sole && p.kind == LayerKind::Dense && x.rank == 2) {
    net_.params[p.name + ".bias"] = bias_values(c, cv, p.units, false);
    p.bias = true;
    alias(n.output(0), x);
    return;
  }
  if (sole && p.kind == LayerKind::Conv2d && x.rank == 4) {
    net_.params[p.name + ".bias"] = bias_values(c, cv, p.out_channels, true);
    p.bias = true;
    alias(n.output(0), x);
    return;
  }
  fail("Add of the constant '" + cv + "' is supported only as the bias of a MatMul, Gemm or Conv without bias "
       "that nothing else reads; here '" + av + "' comes from " +
       (x.layer == 0 ? std::string("the graph input") : std::string("a ") + graph::kind_name(p.kind) + " layer"));
}

void Importer::op_flatten(const NodeProto& n) {
  Attrs a(*this, n, {"axis"});
  require_inputs(n, 1, 1);
  const Act x = act(n.input(0), "input");
  const int64_t r = x.rank;
  int64_t axis = a.i("axis", 1);
  if (axis < -r || axis > r) fail("axis " + std::to_string(axis) + " is out of range for " + describe(x));
  if (axis < 0) axis += r;
  const graph::Shape3 s = shape(x);
  const std::vector<int64_t> per_sample = x.rank == 4 ? std::vector<int64_t>{s.c, s.h, s.w} : std::vector<int64_t>{s.c};
  bool ok = axis >= 1;
  for (int64_t k = 1; k < axis && ok; ++k) ok = per_sample[k - 1] == 1;
  if (!ok)
    fail("axis " + std::to_string(a.i("axis", 1)) + " on " + describe(x) +
         " would fold features into the batch dimension: only axis 1 ([N, everything else]) is supported");
  if (x.rank == 2) {  // already [N, F]
    alias(n.output(0), x);
    return;
  }
  Layer l;
  l.kind = LayerKind::Flatten;
  define(n.output(0), {add_layer(l, {x.layer}), 2});
}

void Importer::op_reshape(const NodeProto& n) {
  Attrs a(*this, n, {"allowzero"});
  require_inputs(n, 2, 2);
  const Act x = act(n.input(0), "input data");
  const TensorData& t = constant(n.input(1), "shape");
  if (!t.is_integer() || t.dims.size() != 1)
    fail("shape '" + n.input(1) + "' must be a 1-D int64 constant (a shape computed by the graph is not supported)");
  const std::vector<int64_t>& target = t.i;
  const uint64_t features = shape(x).elements();
  const std::string what = "Reshape to " + list(target) + " from " + describe(x);
  if (target.size() != 2) fail(what + " is not supported: only a flatten to [N, features]");
  if (a.i("allowzero", 0) != 0 && (target[0] == 0 || target[1] == 0)) fail(what + " with allowzero 1 is not supported");
  const int64_t a0 = target[0], a1 = target[1];
  const bool batch_ok = a0 == 0 || a0 == -1 || (static_batch_ && a0 == *static_batch_);
  int64_t cols = a1 == 0 ? int64_t(shape(x).c) : a1;
  if (a1 == -1) cols = a0 == -1 ? -1 : int64_t(features);
  if (!batch_ok || cols != int64_t(features))
    fail(what + " is not supported: only a flatten to [N, features] ([0, -1], [-1, " + std::to_string(features) + "]" +
         (static_batch_ ? ", [" + std::to_string(*static_batch_) + ", -1]" : std::string()) + ")");
  if (x.rank == 2) {
    alias(n.output(0), x);
    return;
  }
  Layer l;
  l.kind = LayerKind::Flatten;
  define(n.output(0), {add_layer(l, {x.layer}), 2});
}

void Importer::op_softmax(const NodeProto& n) {
  Attrs a(*this, n, {"axis"});
  require_inputs(n, 1, 1);
  const Act x = act(n.input(0), "input");
  const int64_t r = x.rank;
  int64_t axis = a.i("axis", opset_ < 13 ? 1 : -1);
  if (axis < -r || axis >= r) fail("axis " + std::to_string(axis) + " is out of range for " + describe(x));
  if (axis < 0) axis += r;
  const graph::Shape3 s = shape(x);
  const std::vector<int64_t> dims = x.rank == 4 ? std::vector<int64_t>{0, s.c, s.h, s.w} : std::vector<int64_t>{0, s.c};
  // The engine's softmax runs over all of a sample's elements: every per-sample dimension the
  // ONNX softmax does not reduce over must be 1.
  bool ok = axis >= 1;
  for (int64_t k = 1; k < r && ok; ++k) {
    const bool reduced = opset_ < 13 ? k >= axis : k == axis;
    if (!reduced && dims[k] != 1) ok = false;
  }
  if (!ok)
    fail("axis " + std::to_string(a.i("axis", opset_ < 13 ? 1 : -1)) + " on " + describe(x) + " (opset " +
         std::to_string(opset_) + (opset_ < 13 ? ": over dimensions axis.. flattened" : ": over that dimension alone") +
         ") is not supported: the softmax must cover every per-sample element (never the batch)");
  Layer l;
  l.kind = LayerKind::Softmax;
  define(n.output(0), {add_layer(l, {x.layer}), x.rank});
}

void Importer::op_dropout(const NodeProto& n) {
  // Opset < 12: ratio is an attribute; from 12: an optional input, then training_mode. Before
  // opset 7 the default is training (is_test 0).
  Attrs a = opset_ < 7    ? Attrs(*this, n, {"ratio", "is_test"})
            : opset_ < 12 ? Attrs(*this, n, {"ratio"})
                          : Attrs(*this, n, {"seed"});
  require_inputs(n, 1, opset_ < 12 ? 1 : 3);
  if (opset_ < 7 && a.i("is_test", 0) != 1) fail("is_test 0 (training, the default before opset 7) is not supported");
  const Act x = act(n.input(0), "input data");
  float ratio = opset_ < 12 ? a.f("ratio", 0.5f) : 0.5f;
  if (!in(n, 1).empty()) {
    const TensorData& r = weight(in(n, 1), "ratio");
    if (r.count != 1) fail("ratio '" + in(n, 1) + "' must be a scalar");
    ratio = r.f[0];
  }
  if (!in(n, 2).empty()) {
    const TensorData& t = constant(in(n, 2), "training_mode");
    if (!t.is_integer() || t.count != 1 || t.i[0] != 0)
      fail("training_mode '" + in(n, 2) + "' must be a constant false: only inference is supported");
  }
  if (!(ratio >= 0.0f && ratio < 1.0f)) fail("ratio " + num(ratio) + ": expected 0 <= ratio < 1");
  Layer l;
  l.kind = LayerKind::Dropout;
  l.dropout_p = decimal_value(ratio);
  define(n.output(0), {add_layer(l, {x.layer}), x.rank});
}

void Importer::op_identity(const NodeProto& n) {
  Attrs a(*this, n, {});
  require_inputs(n, 1, 1);
  if (is_const(n.input(0))) {
    define_const(n.output(0), consts_.at(n.input(0)));
    return;
  }
  alias(n.output(0), act(n.input(0), "input"));
}

void Importer::op_constant(const NodeProto& n) {
  Attrs a(*this, n, {"value", "value_float", "value_floats", "value_int", "value_ints"});
  if (n.input_size() != 0) fail("a Constant takes no inputs");
  if (n.attribute_size() != 1) fail("expected exactly one of value, value_float(s), value_int(s)");
  TensorData t;
  if (const auto* v = a.tensor("value")) {
    try {
      t = read_tensor(*v, byte_limit_);
    } catch (const std::runtime_error& e) {
      fail(std::string("value: ") + e.what());
    }
  } else if (a.has("value_float")) {
    t.dtype = ::onnx::TensorProto::FLOAT, t.count = 1, t.f = {a.f("value_float", 0.0f)};
  } else if (a.has("value_floats")) {
    t.dtype = ::onnx::TensorProto::FLOAT, t.f = a.floats("value_floats");
    t.count = t.f.size(), t.dims = {int64_t(t.count)};
  } else if (a.has("value_int")) {
    t.dtype = ::onnx::TensorProto::INT64, t.count = 1, t.i = {a.i("value_int", 0)};
  } else {
    t.dtype = ::onnx::TensorProto::INT64, t.i = a.ints("value_ints", {});
    t.count = t.i.size(), t.dims = {int64_t(t.count)};
  }
  define_const(n.output(0), std::move(t));
}

}  // namespace lockstep::onnx::detail
