#include "graph/network.hpp"

#include <cmath>
#include <stdexcept>

#include "tensor/shapes.hpp"

namespace lockstep::graph {

const char* kind_name(LayerKind k) {
  switch (k) {
    case LayerKind::Input: return "Input";
    case LayerKind::Conv2d: return "Conv2d";
    case LayerKind::BatchNorm: return "BatchNorm";
    case LayerKind::Dense: return "Dense";
    case LayerKind::MaxPool: return "MaxPool";
    case LayerKind::AvgPool: return "AvgPool";
    case LayerKind::GlobalAvgPool: return "GlobalAvgPool";
    case LayerKind::Add: return "Add";
    case LayerKind::Relu: return "Relu";
    case LayerKind::Softmax: return "Softmax";
    case LayerKind::Dropout: return "Dropout";
    case LayerKind::Flatten: return "Flatten";
  }
  return "?";
}

namespace {
[[noreturn]] void fail(const Layer& l, const std::string& what) {
  throw std::invalid_argument("layer '" + l.name + "' (" + kind_name(l.kind) + "): " + what);
}

std::vector<uint32_t> consumers(const Network& net, uint32_t index) {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < net.layers.size(); ++i)
    for (uint32_t in : net.layers[i].inputs)
      if (in == index) out.push_back(i);
  return out;
}

// Removes layer `index` (which has one input): its readers read its input instead.
void remove_layer(Network& net, uint32_t index) {
  const uint32_t replacement = net.layers[index].inputs.at(0);
  net.layers.erase(net.layers.begin() + index);
  for (Layer& l : net.layers)
    for (uint32_t& in : l.inputs) {
      if (in == index) in = replacement;
      else if (in > index) --in;
    }
}
}  // namespace

uint32_t Network::add_input(Shape3 shape, std::string input_name) {
  if (!layers.empty()) throw std::logic_error("add_input: the network already has layers");
  Layer l;
  l.name = std::move(input_name);
  l.kind = LayerKind::Input;
  l.out = shape;
  layers.push_back(std::move(l));
  return 0;
}

uint32_t Network::add(Layer layer) {
  if (layers.empty()) throw std::logic_error("add: add_input first");
  if (layer.inputs.empty()) layer.inputs = {output()};
  if (find(layer.name) >= 0) throw std::invalid_argument("duplicate layer name '" + layer.name + "'");
  layers.push_back(std::move(layer));
  return output();
}

int Network::find(const std::string& layer_name) const {
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].name == layer_name) return static_cast<int>(i);
  return -1;
}

const Layer& Network::layer(const std::string& layer_name) const {
  const int i = find(layer_name);
  if (i < 0) throw std::invalid_argument("network '" + name + "' has no layer named '" + layer_name + "'");
  return layers[i];
}

void Network::infer_shapes() {
  if (layers.empty() || layers[0].kind != LayerKind::Input) throw std::invalid_argument("network '" + name + "' has no input layer");
  const Shape3 in0 = layers[0].out;
  if (in0.elements() == 0) fail(layers[0], "input shape has a zero dimension");
  for (uint32_t i = 1; i < layers.size(); ++i) {
    Layer& l = layers[i];
    const size_t want_inputs = l.kind == LayerKind::Add ? 2 : 1;
    if (l.inputs.size() != want_inputs)
      fail(l, std::to_string(l.inputs.size()) + " inputs, expected " + std::to_string(want_inputs));
    for (uint32_t in : l.inputs)
      if (in >= i) fail(l, "reads layer " + std::to_string(in) + ", which does not come before it");
    if (l.kind == LayerKind::Input) fail(l, "a second input layer");
    const Shape3 s = layers[l.inputs[0]].out;
    try {
      switch (l.kind) {
        case LayerKind::Conv2d: {
          Conv2dShape c;
          c.c_in = s.c, c.h = s.h, c.w = s.w, c.c_out = l.out_channels, c.kh = l.kh, c.kw = l.kw;
          c.stride_h = l.stride_h, c.stride_w = l.stride_w, c.pad_top = l.pad_top, c.pad_left = l.pad_left;
          c.pad_bottom = l.pad_bottom, c.pad_right = l.pad_right;
          c.validate();
          l.out = {l.out_channels, c.out_h(), c.out_w()};
          break;
        }
        case LayerKind::MaxPool:
        case LayerKind::AvgPool: {
          Pool2dShape p;
          p.kind = l.kind == LayerKind::MaxPool ? PoolKind::Max : PoolKind::Average;
          p.c = s.c, p.h = s.h, p.w = s.w, p.kh = l.kh, p.kw = l.kw, p.stride_h = l.stride_h, p.stride_w = l.stride_w;
          p.pad_top = l.pad_top, p.pad_left = l.pad_left, p.pad_bottom = l.pad_bottom, p.pad_right = l.pad_right;
          p.validate();
          l.out = {s.c, p.out_h(), p.out_w()};
          break;
        }
        case LayerKind::Dense:
          if (l.units == 0) fail(l, "units is 0: expected >= 1");
          if (s.elements() > kMaxTensorElements) fail(l, "input is too large");
          l.out = {l.units, 1, 1};
          break;
        case LayerKind::GlobalAvgPool: l.out = {s.c, 1, 1}; break;
        case LayerKind::Flatten:
          if (s.elements() > 0xFFFFFFFFull) fail(l, "input is too large");
          l.out = {static_cast<uint32_t>(s.elements()), 1, 1};
          break;
        case LayerKind::Add:
          if (!(layers[l.inputs[1]].out == s))
            fail(l, "inputs have different shapes (" + std::to_string(s.c) + "x" + std::to_string(s.h) + "x" +
                        std::to_string(s.w) + " and " + std::to_string(layers[l.inputs[1]].out.c) + "x" +
                        std::to_string(layers[l.inputs[1]].out.h) + "x" + std::to_string(layers[l.inputs[1]].out.w) + ")");
          l.out = s;
          break;
        case LayerKind::Dropout:
          if (!(l.dropout_p >= 0.0 && l.dropout_p < 1.0)) fail(l, "dropout probability must be in [0, 1)");
          l.out = s;
          break;
        case LayerKind::BatchNorm:
          if (!(l.epsilon >= 0.0)) fail(l, "epsilon must be >= 0");
          l.out = s;
          break;
        case LayerKind::Relu:
        case LayerKind::Softmax: l.out = s; break;
        case LayerKind::Input: break;
      }
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      if (what.rfind("layer '", 0) == 0) throw;
      fail(l, what);
    }
  }
}

std::vector<std::pair<std::string, uint64_t>> Network::expected_params() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const Layer& l : layers) {
    if (l.kind == LayerKind::Conv2d) {
      const uint64_t cin = layers[l.inputs[0]].out.c;
      out.emplace_back(l.name + ".weight", uint64_t(l.out_channels) * cin * l.kh * l.kw);
      if (l.bias) out.emplace_back(l.name + ".bias", l.out_channels);
    } else if (l.kind == LayerKind::Dense) {
      out.emplace_back(l.name + ".weight", uint64_t(l.units) * layers[l.inputs[0]].out.elements());
      if (l.bias) out.emplace_back(l.name + ".bias", l.units);
    } else if (l.kind == LayerKind::BatchNorm) {
      for (const char* role : {".gamma", ".beta", ".mean", ".var"}) out.emplace_back(l.name + role, l.out.c);
    }
  }
  return out;
}

void Network::check_params() const {
  const auto expected = expected_params();
  for (const auto& [pname, count] : expected) {
    auto it = params.find(pname);
    if (it == params.end()) throw std::invalid_argument("network '" + name + "': parameter '" + pname + "' is missing");
    if (it->second.size() != count)
      throw std::invalid_argument("network '" + name + "': parameter '" + pname + "' has " +
                                  std::to_string(it->second.size()) + " values, expected " + std::to_string(count));
  }
  if (params.size() != expected.size())
    for (const auto& [pname, values] : params) {
      bool known = false;
      for (const auto& e : expected) known = known || e.first == pname;
      if (!known) throw std::invalid_argument("network '" + name + "': parameter '" + pname + "' belongs to no layer");
    }
}

uint64_t Network::macs() const {
  uint64_t total = 0;
  for (const Layer& l : layers) {
    if (l.kind == LayerKind::Conv2d)
      total += l.out.elements() * layers[l.inputs[0]].out.c * l.kh * l.kw;
    else if (l.kind == LayerKind::Dense)
      total += uint64_t(l.units) * layers[l.inputs[0]].out.elements();
  }
  return total;
}

void fold_batchnorm(Network& net) {
  for (uint32_t i = 1; i < net.layers.size();) {
    Layer& bn = net.layers[i];
    if (bn.kind != LayerKind::BatchNorm) {
      ++i;
      continue;
    }
    const uint32_t ci = bn.inputs[0];
    Layer& conv = net.layers[ci];
    if (conv.kind != LayerKind::Conv2d || conv.relu || consumers(net, ci).size() != 1)
      fail(bn, "can only be folded into a Conv2d that nothing else reads (it follows '" + conv.name + "', a " +
                   kind_name(conv.kind) + ")");
    const uint32_t channels = conv.out_channels;
    auto get = [&](const std::string& role) -> std::vector<float>& {
      auto it = net.params.find(bn.name + role);
      if (it == net.params.end() || it->second.size() != channels)
        fail(bn, "parameter '" + bn.name + role + "' is missing or does not have " + std::to_string(channels) + " values");
      return it->second;
    };
    const auto &gamma = get(".gamma"), &beta = get(".beta"), &mean = get(".mean"), &var = get(".var");
    auto wit = net.params.find(conv.name + ".weight");
    if (wit == net.params.end()) fail(conv, "parameter '" + conv.name + ".weight' is missing");
    std::vector<float>& w = wit->second;
    std::vector<float> bias(channels, 0.0f);
    if (conv.bias) {
      auto bit = net.params.find(conv.name + ".bias");
      if (bit == net.params.end() || bit->second.size() != channels)
        fail(conv, "parameter '" + conv.name + ".bias' is missing or does not have " + std::to_string(channels) + " values");
      bias = bit->second;
    }
    const size_t per_out = w.size() / channels;
    std::vector<float> new_bias(channels);
    for (uint32_t o = 0; o < channels; ++o) {
      const double scale = double(gamma[o]) / std::sqrt(double(var[o]) + bn.epsilon);
      for (size_t k = 0; k < per_out; ++k) w[o * per_out + k] = static_cast<float>(double(w[o * per_out + k]) * scale);
      new_bias[o] = static_cast<float>((double(bias[o]) - double(mean[o])) * scale + double(beta[o]));
    }
    net.params[conv.name + ".bias"] = std::move(new_bias);
    conv.bias = true;
    for (const char* role : {".gamma", ".beta", ".mean", ".var"}) net.params.erase(bn.name + role);
    remove_layer(net, i);
  }
}

void fuse_relu(Network& net) {
  for (uint32_t i = 1; i < net.layers.size();) {
    const Layer& r = net.layers[i];
    if (r.kind == LayerKind::Relu) {
      const uint32_t pi = r.inputs[0];
      Layer& p = net.layers[pi];
      const bool fusable = p.kind == LayerKind::Conv2d || p.kind == LayerKind::Dense || p.kind == LayerKind::Add;
      if (fusable && !p.relu && consumers(net, pi).size() == 1) {
        p.relu = true;
        remove_layer(net, i);
        continue;
      }
    }
    ++i;
  }
}

}  // namespace lockstep::graph
