#include "graph/executor.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "ops/conv2d.hpp"
#include "ops/dense.hpp"
#include "ops/dropout.hpp"
#include "ops/eltwise.hpp"
#include "ops/global_avg_pool.hpp"
#include "ops/pool2d.hpp"
#include "ops/softmax.hpp"
#include "reference/reference.hpp"

namespace lockstep::graph {

struct CompiledNetwork::Impl {
  std::vector<int> buffer_of;          // layer -> activation buffer
  std::vector<Buffer> buffers;
  std::vector<uint64_t> capacity;
  std::vector<Buffer> conv_weight, bias;  // by layer (empty Buffer when unused)
  std::vector<ops::DenseWeights> dense_weight;
  Buffer dummy;                        // bound where a layer has no bias
  std::vector<std::unique_ptr<ops::Conv2d>> conv;
  std::vector<std::unique_ptr<ops::Dense>> dense;
  std::vector<std::unique_ptr<ops::Pool2d>> pool;
  std::vector<std::unique_ptr<ops::GlobalAvgPool>> gap;
  std::vector<std::unique_ptr<ops::Eltwise>> eltwise;
  std::vector<std::unique_ptr<ops::Softmax>> softmax;
  std::vector<std::unique_ptr<ops::Dropout>> dropout;
  // Residual adds fused into the convolution just before them (only when layer outputs are not
  // kept: the convolution's own output is then never written): add -> conv and conv -> add.
  std::vector<int> fused_conv, fused_add;
  std::unique_ptr<Sequence> sequence;
  bool recorded = false;
  uint64_t recorded_seed = 0;
};

namespace {
bool is_alias(const Layer& l, bool mc_dropout) {
  return l.kind == LayerKind::Flatten || (l.kind == LayerKind::Dropout && !mc_dropout);
}
}  // namespace

CompiledNetwork::CompiledNetwork(Device& device, const Network& prepared, const ExecuteOptions& options)
    : device_(device), net_(prepared), options_(options), impl_(std::make_unique<Impl>()) {
  if (options.batch == 0) throw std::invalid_argument("batch size is 0: expected >= 1");
  net_.infer_shapes();
  net_.check_params();
  for (const Layer& l : net_.layers)
    if (l.kind == LayerKind::BatchNorm)
      throw std::invalid_argument("layer '" + l.name + "': BatchNorm must be folded first (graph::prepare)");
  const uint32_t n = options.batch;
  const NumericMode m = options.mode;
  const size_t count = net_.layers.size();
  Impl& im = *impl_;

  // Fusion: an Add right after a Conv2d without ReLU that nothing else reads takes its place
  // (the convolution's epilogue adds the other operand, in the Add's operand order, then the
  // Add's ReLU: the same bits). The Add's output lives in the convolution's buffer, which
  // none of the convolution's inputs share.
  im.fused_conv.assign(count, -1);
  im.fused_add.assign(count, -1);
  if (!options.keep_layer_outputs) {
    std::vector<uint32_t> readers(count, 0);
    for (const Layer& l : net_.layers)
      for (uint32_t in : l.inputs) readers[in]++;
    for (uint32_t i = 2; i < count; ++i) {
      const Layer& add = net_.layers[i];
      if (add.kind != LayerKind::Add || add.inputs.size() != 2) continue;
      const uint32_t c = i - 1;
      const Layer& conv = net_.layers[c];
      if (conv.kind != LayerKind::Conv2d || conv.relu || readers[c] != 1 || c == 0) continue;
      if (add.inputs[0] != c && add.inputs[1] != c) continue;
      im.fused_conv[i] = static_cast<int>(c);
      im.fused_add[c] = static_cast<int>(i);
    }
  }
  // Activation plan: a buffer is released after its last reader; the input and the final
  // output are never reused (nor anything, with keep_layer_outputs).
  im.buffer_of.assign(count, -1);
  std::vector<uint32_t> last_use(count, 0);
  for (uint32_t i = 1; i < count; ++i)
    for (uint32_t in : net_.layers[i].inputs) last_use[in] = std::max(last_use[in], i);
  std::vector<int> free_ids;
  std::vector<int> readers_left;  // per buffer id: layers still to read it
  auto take = [&](uint64_t bytes) {
    int best = -1;
    for (int id : free_ids)
      if (im.capacity[id] >= bytes && (best < 0 || im.capacity[id] < im.capacity[best])) best = id;
    if (best < 0 && !free_ids.empty()) best = free_ids.back();
    if (best >= 0) {
      free_ids.erase(std::find(free_ids.begin(), free_ids.end(), best));
      im.capacity[best] = std::max(im.capacity[best], bytes);
      return best;
    }
    im.capacity.push_back(bytes);
    return static_cast<int>(im.capacity.size() - 1);
  };
  const uint64_t range = device.traits().max_storage_buffer_range;
  for (uint32_t i = 0; i < count; ++i) {
    const Layer& l = net_.layers[i];
    const uint64_t bytes = uint64_t(n) * l.out.elements() * 4;
    if (bytes > range)
      throw std::invalid_argument("layer '" + l.name + "' output of " + std::to_string(bytes) +
                                  " bytes exceeds the device's storage binding range (" + std::to_string(range) +
                                  "): use a smaller batch");
    if (i > 0 && is_alias(l, options.mc_dropout)) im.buffer_of[i] = im.buffer_of[l.inputs[0]];
    else if (im.fused_conv[i] >= 0) im.buffer_of[i] = im.buffer_of[im.fused_conv[i]];
    else im.buffer_of[i] = take(bytes);
    if (options.keep_layer_outputs) continue;
    for (uint32_t in : l.inputs) {
      // Release the buffer once no later layer reads any layer that lives in it.
      const int id = im.buffer_of[in];
      bool still_read = id == im.buffer_of[0] || id == im.buffer_of[i];
      for (uint32_t j = 0; j < count && !still_read; ++j)
        if (im.buffer_of[j] == id && (last_use[j] > i || j == count - 1)) still_read = true;
      if (!still_read && std::find(free_ids.begin(), free_ids.end(), id) == free_ids.end()) free_ids.push_back(id);
    }
  }
  check_fits(device, im.capacity);
  for (uint64_t c : im.capacity) {
    im.buffers.push_back(device.create_buffer(c));
    activation_bytes_ += c;
  }

  // Weights (flushed under ftz, as the reference does) and ops.
  im.dummy = device.create_buffer(16);
  im.conv_weight.resize(count), im.bias.resize(count), im.dense_weight.resize(count);
  im.conv.resize(count), im.dense.resize(count), im.pool.resize(count), im.gap.resize(count);
  im.eltwise.resize(count), im.softmax.resize(count), im.dropout.resize(count);
  auto upload = [&](const std::string& name) {
    const auto v = ref::flush_for(m, net_.params.at(name));
    weight_bytes_ += v.size() * 4;
    return device.upload_new<float>(v);
  };
  for (uint32_t i = 1; i < count; ++i) {
    const Layer& l = net_.layers[i];
    const Shape3 in = net_.layers[l.inputs[0]].out;
    switch (l.kind) {
      case LayerKind::Conv2d: {
        Conv2dShape s;
        s.n = n, s.c_in = in.c, s.h = in.h, s.w = in.w, s.c_out = l.out_channels, s.kh = l.kh, s.kw = l.kw;
        s.stride_h = l.stride_h, s.stride_w = l.stride_w, s.pad_top = l.pad_top, s.pad_left = l.pad_left;
        s.pad_bottom = l.pad_bottom, s.pad_right = l.pad_right, s.bias = l.bias, s.relu = l.relu;
        ops::Conv2d::Residual residual = ops::Conv2d::Residual::None;
        if (const int a = im.fused_add[i]; a >= 0) {
          const Layer& add = net_.layers[a];
          s.relu = add.relu;
          residual = add.inputs[1] == i ? ops::Conv2d::Residual::Before : ops::Conv2d::Residual::After;
        }
        im.conv[i] = std::make_unique<ops::Conv2d>(device, s, m, ops::Conv2d::Options{}, residual);
        const auto packed = im.conv[i]->pack_weight(ref::flush_for(m, net_.params.at(l.name + ".weight")));
        weight_bytes_ += packed.size() * 4;
        im.conv_weight[i] = device.upload_new<float>(packed);
        if (l.bias) im.bias[i] = upload(l.name + ".bias");
        break;
      }
      case LayerKind::Dense: {
        const DenseShape s{n, static_cast<uint32_t>(in.elements()), l.units, l.bias, l.relu};
        im.dense[i] = std::make_unique<ops::Dense>(device, s, m);
        const auto w = ref::flush_for(m, net_.params.at(l.name + ".weight"));
        weight_bytes_ += w.size() * 4;
        im.dense_weight[i] = ops::upload_dense_weights(device, s, w);
        if (l.bias) im.bias[i] = upload(l.name + ".bias");
        break;
      }
      case LayerKind::MaxPool:
      case LayerKind::AvgPool: {
        Pool2dShape s;
        s.kind = l.kind == LayerKind::MaxPool ? PoolKind::Max : PoolKind::Average;
        s.n = n, s.c = in.c, s.h = in.h, s.w = in.w, s.kh = l.kh, s.kw = l.kw, s.stride_h = l.stride_h;
        s.stride_w = l.stride_w, s.pad_top = l.pad_top, s.pad_left = l.pad_left, s.pad_bottom = l.pad_bottom;
        s.pad_right = l.pad_right, s.count_include_pad = l.count_include_pad;
        im.pool[i] = std::make_unique<ops::Pool2d>(device, s, m);
        break;
      }
      case LayerKind::GlobalAvgPool:
        im.gap[i] = std::make_unique<ops::GlobalAvgPool>(device, GlobalAvgPoolShape{n, in.c, in.h, in.w}, m);
        break;
      case LayerKind::Add:
        if (im.fused_conv[i] >= 0) break;
        im.eltwise[i] = std::make_unique<ops::Eltwise>(device, ops::Eltwise::Kind::Add,
                                                       EltwiseShape{uint64_t(n) * l.out.elements(), l.relu}, m);
        break;
      case LayerKind::Relu:
        im.eltwise[i] = std::make_unique<ops::Eltwise>(device, ops::Eltwise::Kind::Relu,
                                                       EltwiseShape{uint64_t(n) * l.out.elements(), false}, m);
        break;
      case LayerKind::Softmax:
        im.softmax[i] = std::make_unique<ops::Softmax>(device, SoftmaxShape{n, uint32_t(l.out.elements())}, m);
        break;
      case LayerKind::Dropout:
      case LayerKind::Flatten:
      case LayerKind::Input:
      case LayerKind::BatchNorm: break;
    }
  }
}

CompiledNetwork::~CompiledNetwork() = default;

namespace {
std::string mib(uint64_t bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f MiB", bytes / 1048576.0);
  return b;
}
}  // namespace

void CompiledNetwork::check_fits(const Device& device, const std::vector<uint64_t>& activation_buffers) const {
  // What the constructor is about to allocate, before any of it is: the weights (dense weights in
  // row chunks, so no single buffer of theirs exceeds the binding range), every activation buffer,
  // and the largest staging buffer (one upload at a time).
  const DeviceTraits& t = device.traits();
  uint64_t weights = 0, activations = 0, largest_upload = 0, largest_buffer = 0;
  std::string largest_name;
  auto buffer = [&](uint64_t bytes, const std::string& what) {
    if (bytes > largest_buffer) largest_buffer = bytes, largest_name = what;
  };
  for (const Layer& l : net_.layers) {
    if (l.kind != LayerKind::Conv2d && l.kind != LayerKind::Dense) continue;
    for (const char* role : {".weight", ".bias"}) {
      auto it = net_.params.find(l.name + role);
      if (it == net_.params.end()) continue;
      const uint64_t bytes = uint64_t(it->second.size()) * 4;
      weights += bytes;
      const uint64_t single = l.kind == LayerKind::Dense && role[1] == 'w' ? std::min(bytes, device.max_binding_bytes())
                                                                           : bytes;
      largest_upload = std::max(largest_upload, single);
      buffer(single, "layer '" + l.name + "' " + (role + 1));
    }
  }
  for (size_t i = 0; i < activation_buffers.size(); ++i) {
    activations += activation_buffers[i];
    buffer(activation_buffers[i], "activation buffer " + std::to_string(i));
  }
  largest_upload = std::max<uint64_t>(largest_upload, uint64_t(options_.batch) * net_.layers[0].out.elements() * 4);
  const std::string where = "device " + std::to_string(device.index()) + " '" + t.name + "'";
  if (t.max_memory_allocation_size && largest_buffer > t.max_memory_allocation_size)
    throw std::runtime_error("network '" + net_.name + "' needs a single buffer of " + mib(largest_buffer) + " (" +
                             largest_name + ") but " + where + " allows at most " + mib(t.max_memory_allocation_size) +
                             " per allocation (maxMemoryAllocationSize): use a smaller batch or input size");
  const uint64_t need = weights + activations;
  const uint64_t budget = device.memory_budget();
  if (budget && need > budget)
    throw std::runtime_error("network '" + net_.name + "' needs " + mib(need) + " of device memory (weights " +
                             mib(weights) + " + activations " + mib(activations) + " at batch " +
                             std::to_string(options_.batch) + ", plus up to " + mib(largest_upload) +
                             " of staging for uploads) but " + where + " has " + mib(budget) + " (" +
                             device.memory_budget_source() + "): use a smaller batch or input size, or another device");
}

void CompiledNetwork::record(uint64_t seed) {
  Impl& im = *impl_;
  const uint32_t n = options_.batch;
  im.sequence = std::make_unique<Sequence>(device_, options_.timestamps);
  Sequence& seq = *im.sequence;
  auto buf = [&](uint32_t layer) -> const Buffer& { return im.buffers[im.buffer_of[layer]]; };
  for (uint32_t i = 1; i < net_.layers.size(); ++i) {
    const Layer& l = net_.layers[i];
    const Buffer& x = buf(l.inputs[0]);
    const Buffer& y = buf(i);
    const Buffer& b = im.bias[i].valid() ? im.bias[i] : im.dummy;
    seq.set_scope(l.name);
    switch (l.kind) {
      case LayerKind::Conv2d:
        if (const int a = im.fused_add[i]; a >= 0) {
          const Layer& add = net_.layers[a];
          const uint32_t other = add.inputs[0] == i ? add.inputs[1] : add.inputs[0];
          seq.set_scope(l.name + " + " + add.name);
          im.conv[i]->record(seq, x, im.conv_weight[i], b, buf(a), buf(other));
        } else {
          im.conv[i]->record(seq, x, im.conv_weight[i], b, y);
        }
        break;
      case LayerKind::Dense: im.dense[i]->record(seq, x, im.dense_weight[i], b, y); break;
      case LayerKind::MaxPool:
      case LayerKind::AvgPool: im.pool[i]->record(seq, x, y); break;
      case LayerKind::GlobalAvgPool: im.gap[i]->record(seq, x, y); break;
      case LayerKind::Add:
        if (im.fused_conv[i] < 0) im.eltwise[i]->record(seq, x, buf(l.inputs[1]), y);
        break;
      case LayerKind::Relu: im.eltwise[i]->record(seq, x, x, y); break;
      case LayerKind::Softmax: im.softmax[i]->record(seq, x, y); break;
      case LayerKind::Dropout:
        if (options_.mc_dropout) {
          im.dropout[i] = std::make_unique<ops::Dropout>(
              device_, DropoutShape{uint64_t(n) * l.out.elements(), l.dropout_p, true, seed, i}, options_.mode);
          im.dropout[i]->record(seq, x, y);
        }
        break;
      case LayerKind::Flatten:
      case LayerKind::Input:
      case LayerKind::BatchNorm: break;
    }
  }
  im.recorded = true;
  im.recorded_seed = seed;
}

std::vector<float> CompiledNetwork::run(std::span<const float> input, uint64_t dropout_seed) {
  Impl& im = *impl_;
  const uint64_t want = uint64_t(options_.batch) * net_.layers[0].out.elements();
  if (input.size() != want)
    throw std::invalid_argument("input has " + std::to_string(input.size()) + " values, expected " + std::to_string(want) +
                                " (batch " + std::to_string(options_.batch) + " x " +
                                std::to_string(net_.layers[0].out.c) + "x" + std::to_string(net_.layers[0].out.h) + "x" +
                                std::to_string(net_.layers[0].out.w) + ")");
  if (!im.recorded || (options_.mc_dropout && dropout_seed != im.recorded_seed)) record(dropout_seed);
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  const auto t0 = Clock::now();
  const auto x = ref::flush_for(options_.mode, input);
  device_.upload(im.buffers[im.buffer_of[0]], x.data(), x.size() * 4);
  const auto t1 = Clock::now();
  im.sequence->submit();
  const auto t2 = Clock::now();
  auto y = layer_output(net_.output());
  last_run_timing_ = {ms(t0, t1), ms(t1, t2), ms(t2, Clock::now())};
  return y;
}

std::vector<float> CompiledNetwork::layer_output(uint32_t index) {
  if (index >= net_.layers.size()) throw std::out_of_range("layer index " + std::to_string(index) + " is out of range");
  if (!options_.keep_layer_outputs && index != 0 && index != net_.output())
    throw std::logic_error("layer outputs were not kept: compile with keep_layer_outputs");
  const uint64_t count = uint64_t(options_.batch) * net_.layers[index].out.elements();
  return device_.download_all<float>(impl_->buffers[impl_->buffer_of[index]], count);
}

std::vector<DispatchTiming> CompiledNetwork::timings() const {
  return impl_->sequence ? impl_->sequence->timings() : std::vector<DispatchTiming>{};
}

}  // namespace lockstep::graph
