// The import driver: reading and sniffing the file, the graph's input, initializers and
// output, the node loop, pruning. The per-op conversions are in onnx_ops.cpp.
#include "onnx/onnx_import.hpp"

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "onnx/importer.hpp"
#include "tensor/shapes.hpp"

namespace lockstep::onnx {

namespace detail {

std::string sanitize(std::string_view name) {
  std::string out(name);
  for (char& c : out)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) c = '_';
  return out;
}

double decimal_value(float f) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, f);
  double d = f;
  std::from_chars(buf, r.ptr, d);
  return d;
}

Importer::Importer(std::string source, const ImportOptions& options, uint64_t byte_limit)
    : source_(std::move(source)), options_(options), byte_limit_(byte_limit) {}

void Importer::fail(const std::string& what) const {
  if (!node_) throw std::runtime_error(source_ + ": " + what);
  std::string who = node_->name().empty()
                        ? "[unnamed, output \"" + (node_->output_size() ? node_->output(0) : std::string()) + "\"]"
                        : "\"" + node_->name() + "\"";
  throw std::runtime_error(source_ + ": node #" + std::to_string(node_index_) + " " + who + " (" +
                           node_->op_type() + "): " + what);
}

void Importer::read_opset(const ::onnx::ModelProto& model) {
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
  if (opset_ == 0) fail("the model imports no ONNX operator set (opset_import has no default domain)");
  if (opset_ < 1 || opset_ > 21)
    fail("operator set version " + std::to_string(opset_) + " is not supported (1 to 21)");
}

void Importer::read_initializers(const ::onnx::GraphProto& g, ::onnx::GraphProto* consumable) {
  for (int k = 0; k < g.initializer_size(); ++k) {
    const auto& t = g.initializer(k);
    try {
      define_const(t.name(), read_tensor(t, byte_limit_));
    } catch (const std::runtime_error& e) {
      fail("initializer '" + t.name() + "': " + e.what());
    }
    if (consumable) {  // the float copy is made: free the file's bytes
      consumable->mutable_initializer(k)->clear_raw_data();
      consumable->mutable_initializer(k)->clear_float_data();
    }
  }
  if (g.sparse_initializer_size() > 0) fail("sparse initializers are not supported");
}

namespace {
std::string dim_text(const ::onnx::TensorShapeProto_Dimension& d) {
  if (d.has_dim_value()) return std::to_string(d.dim_value());
  return d.dim_param().empty() ? "?" : d.dim_param();
}
}  // namespace

void Importer::read_input(const ::onnx::GraphProto& g) {
  std::vector<const ::onnx::ValueInfoProto*> inputs;
  for (const auto& vi : g.input())
    if (!is_const(vi.name())) inputs.push_back(&vi);
  if (inputs.size() != 1) {
    std::string names;
    for (auto* vi : inputs) names += (names.empty() ? "'" : ", '") + vi->name() + "'";
    fail("the graph has " + std::to_string(inputs.size()) + " inputs" + (names.empty() ? "" : " (" + names + ")") +
         " that are not initializers: expected exactly one, the image batch [N, C, H, W]");
  }
  const auto& vi = *inputs[0];
  const std::string what = "input '" + vi.name() + "'";
  if (!vi.type().has_tensor_type()) fail(what + " is not a tensor");
  const auto& tt = vi.type().tensor_type();
  if (tt.elem_type() != ::onnx::TensorProto::FLOAT)
    fail(what + " has element type " + dtype_name(tt.elem_type()) + ": only float32 is supported");
  if (!tt.has_shape()) fail(what + " has no shape: expected [N, C, H, W]");
  const auto& dims = tt.shape().dim();
  std::string text;
  for (const auto& d : dims) text += (text.empty() ? "" : ", ") + dim_text(d);
  text = "[" + text + "]";
  if (dims.size() != 4) fail(what + " has shape " + text + ": expected [N, C, H, W] (rank 4)");
  if (dims[0].has_dim_value()) {
    if (dims[0].dim_value() <= 0) fail(what + " has shape " + text + ": the batch must be positive or symbolic");
    static_batch_ = dims[0].dim_value();
  }
  uint32_t chw[3];
  const char* names[3] = {"channels", "height", "width"};
  const uint32_t fallback[3] = {0, options_.input_height, options_.input_width};
  for (int k = 0; k < 3; ++k) {
    const auto& d = dims[k + 1];
    if (!d.has_dim_value()) {
      if (fallback[k] != 0) {
        chw[k] = fallback[k];
        continue;
      }
      // Name the first node that needs a fixed size, to say why one is needed at all.
      std::string needs;
      for (int n = 0; n < g.node_size() && needs.empty(); ++n) {
        const std::string& op = g.node(n).op_type();
        if (op == "Flatten" || op == "Gemm" || op == "MatMul" || op == "Reshape")
          needs = "; node #" + std::to_string(n) + " \"" + g.node(n).name() + "\" (" + op +
                  ") needs the input's size to size its features";
      }
      fail(what + " has shape " + text + " with a symbolic " + names[k] +
           ": the engine needs fixed C, H and W" + needs +
           (k == 0 ? std::string() : "; pass ImportOptions::input_height/input_width to fix them"));
    }
    if (d.dim_value() <= 0 || d.dim_value() > int64_t(kMaxTensorElements))
      fail(what + " has shape " + text + ": " + names[k] + " must be between 1 and " + std::to_string(kMaxTensorElements));
    chw[k] = static_cast<uint32_t>(d.dim_value());
  }
  const graph::Shape3 s{chw[0], chw[1], chw[2]};
  if (s.elements() > kMaxTensorElements) fail(what + " has shape " + text + ": too many elements per sample");
  const std::string name = sanitize(vi.name()).empty() ? "input" : sanitize(vi.name());
  net_.add_input(s, name);
  layer_names_.insert(name);
  acts_[vi.name()] = Act{0, 4};
}

void Importer::count_uses(const ::onnx::GraphProto& g) {
  for (const auto& n : g.node())
    for (const auto& i : n.input())
      if (!i.empty()) uses_[i]++;
  for (const auto& o : g.output()) uses_[o.name()]++;
}

int Importer::readers(uint32_t layer) const {
  int total = 0;
  for (const auto& [value, a] : acts_)
    if (a.layer == layer) {
      auto it = uses_.find(value);
      total += it == uses_.end() ? 0 : it->second;
    }
  auto e = alias_edges_.find(layer);
  return total - (e == alias_edges_.end() ? 0 : e->second);  // an alias node is not a reader itself
}

// Keeps only the layers the output depends on (an export may carry dead branches), with the
// output last, as the IR requires.
void Importer::prune(uint32_t output_layer) {
  std::vector<bool> keep(net_.layers.size(), false);
  keep[output_layer] = true;
  keep[0] = true;
  for (uint32_t i = output_layer + 1; i-- > 0;)
    if (keep[i])
      for (uint32_t in : net_.layers[i].inputs) keep[in] = true;
  std::vector<uint32_t> index(net_.layers.size(), 0);
  graph::Network out;
  out.name = net_.name;
  for (uint32_t i = 0; i < net_.layers.size(); ++i) {
    graph::Layer& l = net_.layers[i];
    if (!keep[i]) {
      for (auto it = net_.params.begin(); it != net_.params.end();)
        it = it->first.rfind(l.name + ".", 0) == 0 ? net_.params.erase(it) : std::next(it);
      continue;
    }
    for (uint32_t& in : l.inputs) in = index[in];
    index[i] = static_cast<uint32_t>(out.layers.size());
    out.layers.push_back(std::move(l));
  }
  out.params = std::move(net_.params);
  net_ = std::move(out);
}

void Importer::finish(const ::onnx::GraphProto& g) {
  node_ = nullptr;
  if (g.output_size() != 1) {
    std::string names;
    for (const auto& o : g.output()) names += (names.empty() ? "'" : ", '") + o.name() + "'";
    fail("the graph has " + std::to_string(g.output_size()) + " outputs" + (names.empty() ? "" : " (" + names + ")") +
         ": the engine computes exactly one");
  }
  const std::string& name = g.output(0).name();
  if (is_const(name)) fail("the graph output '" + name + "' is a constant: it does not depend on the input");
  auto it = acts_.find(name);
  if (it == acts_.end()) fail("the graph output '" + name + "' is computed by no node");
  if (it->second.layer == 0) fail("the graph output '" + name + "' is the input itself: the model computes nothing");
  prune(it->second.layer);
  try {
    net_.infer_shapes();
    net_.check_params();
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

graph::Network Importer::run(const ::onnx::ModelProto& model, ::onnx::ModelProto* consumable) {
  // Bytes of another kind can parse as a protobuf with unknown fields: check what makes a model.
  if (model.ir_version() <= 0 && !model.has_graph()) fail("not an ONNX model (no IR version and no graph)");
  if (!model.has_graph()) fail("the model has no graph");
  if (model.ir_version() <= 0) fail("not an ONNX model: IR version " + std::to_string(model.ir_version()));
  if (model.graph().node_size() == 0) fail("the graph has no nodes: it computes nothing");
  const ::onnx::GraphProto& g = model.graph();
  read_opset(model);
  net_.name = g.name().empty() ? source_ : g.name();
  read_initializers(g, consumable ? consumable->mutable_graph() : nullptr);
  read_input(g);
  count_uses(g);
  const auto& table = converters();
  for (int k = 0; k < g.node_size(); ++k) {
    const auto& n = g.node(k);
    node_ = &n;
    node_index_ = k;
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      fail("operator domain '" + n.domain() + "' is not supported (only the default ONNX domain)");
    auto it = table.find(n.op_type());
    if (it == table.end()) {
      std::string list;
      for (const auto& [op, fn] : table) list += (list.empty() ? "" : ", ") + op;
      fail("operator " + n.op_type() + " is not supported; supported operators: " + list);
    }
    if (n.output_size() == 0 || n.output(0).empty()) fail("the node has no output");
    for (int o = 1; o < n.output_size(); ++o)
      if (!n.output(o).empty() && uses_.count(n.output(o)))
        fail("output " + std::to_string(o) + " ('" + n.output(o) +
             "') is used: only the first output is supported (inference form)");
    (this->*(it->second))(n);
  }
  finish(g);
  return std::move(net_);
}

}  // namespace detail

namespace {

// Names a few formats people pass by mistake, instead of a protobuf error.
std::string sniff(std::string_view head) {
  auto starts = [&](std::string_view magic) { return head.substr(0, magic.size()) == magic; };
  if (starts("\x89PNG")) return "a PNG image";
  if (starts("\xFF\xD8\xFF")) return "a JPEG image";
  if (starts("GIF8")) return "a GIF image";
  if (starts("\x89HDF")) return "an HDF5 file (Keras weights? use the Keras importer)";
  if (starts("PK\x03\x04")) return "a ZIP archive (a PyTorch .pt/.pth checkpoint? export it with torch.onnx.export)";
  if (starts("\x93NUMPY")) return "a NumPy .npy array";
  return "";
}

graph::Network parse_and_import(::onnx::ModelProto& model, const std::string& source, const ImportOptions& o,
                                uint64_t bytes) {
  detail::Importer imp(source, o, bytes);
  return imp.run(model, &model);
}

}  // namespace

graph::Network import_onnx(const std::string& path, const ImportOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw std::runtime_error(path + ": cannot open the ONNX model: no such file");
  if (fs::is_directory(st)) throw std::runtime_error(path + ": cannot open the ONNX model: it is a directory");
  const uint64_t size = fs::file_size(path, ec);
  if (ec) throw std::runtime_error(path + ": cannot read the file size: " + ec.message());
  if (size == 0) throw std::runtime_error(path + ": the file is empty (expected an ONNX model)");
  if (size > uint64_t(INT32_MAX))
    throw std::runtime_error(path + ": " + std::to_string(size) +
                             " bytes: a protobuf is limited to 2 GB (models this large keep their weights as "
                             "external data, which is not supported)");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(path + ": cannot open the ONNX model: " + std::strerror(errno));
  char head[16] = {};
  f.read(head, sizeof head);
  const std::string kind = sniff(std::string_view(head, static_cast<size_t>(f.gcount())));
  if (!kind.empty()) throw std::runtime_error(path + ": this is " + kind + ", not an ONNX model");
  f.clear();
  f.seekg(0);
  ::onnx::ModelProto model;
  if (!model.ParseFromIstream(&f))
    throw std::runtime_error(path + ": not a valid ONNX model: the protobuf does not parse (truncated or corrupt file, or "
                                    "not an ONNX file)");
  return parse_and_import(model, path, options, size);
}

graph::Network import_onnx_bytes(std::string_view bytes, const std::string& source, const ImportOptions& options) {
  if (bytes.empty()) throw std::runtime_error(source + ": the model is empty (expected an ONNX model)");
  const std::string kind = sniff(bytes.substr(0, 16));
  if (!kind.empty()) throw std::runtime_error(source + ": this is " + kind + ", not an ONNX model");
  ::onnx::ModelProto model;
  if (bytes.size() > size_t(INT32_MAX) || !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw std::runtime_error(source + ": not a valid ONNX model: the protobuf does not parse (truncated or corrupt)");
  return parse_and_import(model, source, options, bytes.size());
}

graph::Network import_onnx(const ::onnx::ModelProto& model, const std::string& source, const ImportOptions& options) {
  detail::Importer imp(source, options, model.ByteSizeLong());
  return imp.run(model, nullptr);
}

}  // namespace lockstep::onnx
