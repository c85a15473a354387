#include "graph/reference_forward.hpp"

#include "util/interrupt.hpp"

#include <stdexcept>

#include "reference/reference.hpp"

namespace lockstep::graph {

void prepare(Network& net) {
  net.infer_shapes();
  fold_batchnorm(net);
  fuse_relu(net);
  net.infer_shapes();
  net.check_params();
}

namespace {

Conv2dShape conv_shape(const Network& net, const Layer& l, uint32_t batch) {
  const Shape3 in = net.layers[l.inputs[0]].out;
  Conv2dShape s;
  s.n = batch, s.c_in = in.c, s.h = in.h, s.w = in.w, s.c_out = l.out_channels, s.kh = l.kh, s.kw = l.kw;
  s.stride_h = l.stride_h, s.stride_w = l.stride_w, s.pad_top = l.pad_top, s.pad_left = l.pad_left;
  s.pad_bottom = l.pad_bottom, s.pad_right = l.pad_right, s.bias = l.bias, s.relu = l.relu;
  return s;
}
Pool2dShape pool_shape(const Network& net, const Layer& l, uint32_t batch) {
  const Shape3 in = net.layers[l.inputs[0]].out;
  Pool2dShape s;
  s.kind = l.kind == LayerKind::MaxPool ? PoolKind::Max : PoolKind::Average;
  s.n = batch, s.c = in.c, s.h = in.h, s.w = in.w, s.kh = l.kh, s.kw = l.kw, s.stride_h = l.stride_h;
  s.stride_w = l.stride_w, s.pad_top = l.pad_top, s.pad_left = l.pad_left, s.pad_bottom = l.pad_bottom;
  s.pad_right = l.pad_right, s.count_include_pad = l.count_include_pad;
  return s;
}

// One forward pass generic over the value type: the float path calls the canonical kernels,
// the double path the oracles.
template <class T>
std::vector<std::vector<T>> forward(const Network& net, std::span<const float> input, const ForwardOptions& o) {
  const uint32_t n = o.batch;
  const NumericMode m = o.mode;
  auto param = [&](const std::string& name) -> std::vector<float> {
    auto it = net.params.find(name);
    if (it == net.params.end()) throw std::invalid_argument("parameter '" + name + "' is missing");
    return ref::flush_for(m, it->second);
  };
  if (input.size() != uint64_t(n) * net.layers[0].out.elements())
    throw std::invalid_argument("input has " + std::to_string(input.size()) + " values, expected " +
                                std::to_string(uint64_t(n) * net.layers[0].out.elements()));
  std::vector<std::vector<T>> out(net.layers.size());
  const std::vector<float> x0 = ref::flush_for(m, input);
  out[0].assign(x0.begin(), x0.end());
  for (uint32_t i = 1; i < net.layers.size(); ++i) {
    interrupt::check("during the CPU reference");  // a large network takes minutes here
    const Layer& l = net.layers[i];
    const std::vector<T>& x = out[l.inputs[0]];
    const uint64_t count = uint64_t(n) * l.out.elements();
    std::vector<T> y;
    if constexpr (std::is_same_v<T, float>) {
      switch (l.kind) {
        case LayerKind::Conv2d:
          y = ref::conv2d_fixed(conv_shape(net, l, n), x, param(l.name + ".weight"),
                                l.bias ? param(l.name + ".bias") : std::vector<float>{}, m);
          break;
        case LayerKind::Dense:
          y = ref::dense_fixed({n, uint32_t(net.layers[l.inputs[0]].out.elements()), l.units, l.bias, l.relu}, x,
                               param(l.name + ".weight"), l.bias ? param(l.name + ".bias") : std::vector<float>{}, m);
          break;
        case LayerKind::MaxPool:
        case LayerKind::AvgPool: y = ref::pool2d_fixed(pool_shape(net, l, n), x, m); break;
        case LayerKind::GlobalAvgPool: {
          const Shape3 in = net.layers[l.inputs[0]].out;
          y = ref::global_avg_pool_fixed({n, in.c, in.h, in.w}, x, m);
          break;
        }
        case LayerKind::Add: y = ref::eltwise_fixed({count, l.relu}, x, out[l.inputs[1]], m); break;
        case LayerKind::Relu: y = ref::eltwise_fixed({count, false}, x, {}, m); break;
        case LayerKind::Softmax: y = ref::softmax_fixed({n, uint32_t(l.out.elements())}, x, m); break;
        case LayerKind::Dropout:
          y = ref::dropout_fixed({count, l.dropout_p, o.mc_dropout, o.seed, i}, x, m);
          break;
        case LayerKind::Flatten: y = x; break;
        case LayerKind::BatchNorm:
        case LayerKind::Input: throw std::invalid_argument("layer '" + l.name + "': run graph::prepare first");
      }
    } else {
      switch (l.kind) {
        case LayerKind::Conv2d:
          y = ref::conv2d_oracle(conv_shape(net, l, n), x, param(l.name + ".weight"),
                                 l.bias ? param(l.name + ".bias") : std::vector<float>{});
          break;
        case LayerKind::Dense:
          y = ref::dense_oracle({n, uint32_t(net.layers[l.inputs[0]].out.elements()), l.units, l.bias, l.relu}, x,
                                param(l.name + ".weight"), l.bias ? param(l.name + ".bias") : std::vector<float>{});
          break;
        case LayerKind::MaxPool:
        case LayerKind::AvgPool: y = ref::pool2d_oracle(pool_shape(net, l, n), x); break;
        case LayerKind::GlobalAvgPool: {
          const Shape3 in = net.layers[l.inputs[0]].out;
          y = ref::global_avg_pool_oracle({n, in.c, in.h, in.w}, x);
          break;
        }
        case LayerKind::Add: y = ref::eltwise_oracle({count, l.relu}, x, out[l.inputs[1]]); break;
        case LayerKind::Relu: y = ref::eltwise_oracle({count, false}, x, {}); break;
        case LayerKind::Softmax: y = ref::softmax_oracle({n, uint32_t(l.out.elements())}, x); break;
        case LayerKind::Dropout: y = ref::dropout_oracle({count, l.dropout_p, o.mc_dropout, o.seed, i}, x); break;
        case LayerKind::Flatten: y = x; break;
        case LayerKind::BatchNorm:
        case LayerKind::Input: throw std::invalid_argument("layer '" + l.name + "': run graph::prepare first");
      }
    }
    out[i] = std::move(y);
  }
  return out;
}

}  // namespace

std::vector<std::vector<float>> reference_forward(const Network& net, std::span<const float> input,
                                                  const ForwardOptions& options) {
  return forward<float>(net, input, options);
}

std::vector<std::vector<double>> oracle_forward(const Network& net, std::span<const float> input,
                                                const ForwardOptions& options) {
  return forward<double>(net, input, options);
}

}  // namespace lockstep::graph
