#include "bench/bench.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>

#include "graph/executor.hpp"
#include "bench/peak.hpp"
#include "graph/reference_forward.hpp"
#include "reference/reference.hpp"

namespace lockstep::bench {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

using graph::Layer;
using graph::LayerKind;
using graph::Network;

Conv2dShape conv_shape(const Network& net, const Layer& l, uint32_t n) {
  const graph::Shape3 in = net.layers[l.inputs[0]].out;
  Conv2dShape s;
  s.n = n, s.c_in = in.c, s.h = in.h, s.w = in.w, s.c_out = l.out_channels, s.kh = l.kh, s.kw = l.kw;
  s.stride_h = l.stride_h, s.stride_w = l.stride_w, s.pad_top = l.pad_top, s.pad_left = l.pad_left;
  s.pad_bottom = l.pad_bottom, s.pad_right = l.pad_right, s.bias = l.bias, s.relu = l.relu;
  return s;
}

Pool2dShape pool_shape(const Network& net, const Layer& l, uint32_t n) {
  const graph::Shape3 in = net.layers[l.inputs[0]].out;
  Pool2dShape s;
  s.kind = l.kind == LayerKind::MaxPool ? PoolKind::Max : PoolKind::Average;
  s.n = n, s.c = in.c, s.h = in.h, s.w = in.w, s.kh = l.kh, s.kw = l.kw, s.stride_h = l.stride_h;
  s.stride_w = l.stride_w, s.pad_top = l.pad_top, s.pad_left = l.pad_left, s.pad_bottom = l.pad_bottom;
  s.pad_right = l.pad_right, s.count_include_pad = l.count_include_pad;
  return s;
}

// Layers whose output is their input's buffer (no dispatch).
bool is_alias(const Layer& l) { return l.kind == LayerKind::Flatten || l.kind == LayerKind::Dropout; }

// Compares device values with reference values and accumulates into `v`. Fixed order: bit for
// bit; free order: relative RMS difference within `tolerance`.
struct Comparison {
  uint64_t compared = 0, mismatches = 0, first_mismatch = 0;
  float device = 0, reference = 0;
  double diff2 = 0, ref2 = 0;
  bool nonfinite_mismatch = false;
  void add(float d, float r, uint64_t index) {
    if (std::memcmp(&d, &r, 4) != 0) {
      if (mismatches++ == 0) first_mismatch = index, device = d, reference = r;
    }
    if (std::isfinite(d) != std::isfinite(r)) nonfinite_mismatch = true;
    if (std::isfinite(d) && std::isfinite(r)) {
      diff2 += (double(d) - double(r)) * (double(d) - double(r));
      ref2 += double(r) * double(r);
    }
    compared++;
  }
  double rel_rms() const { return ref2 > 0 ? std::sqrt(diff2 / ref2) : (diff2 > 0 ? INFINITY : 0.0); }
};

std::string hexbits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", u);
  return b;
}

// Folds one comparison into the verification; returns false (and says where) on failure.
bool judge(Verification& v, const Comparison& c, bool fixed, double tolerance, const std::string& where) {
  v.compared += c.compared;
  v.mismatches += fixed ? c.mismatches : 0;
  v.max_rel_rms = std::max(v.max_rel_rms, c.rel_rms());
  std::string why;
  if (fixed && c.mismatches) {
    char b[256];
    std::snprintf(b, sizeof b, "%llu of %llu values differ from the CPU reference; first at element %llu: device %.9g (%s), "
                  "reference %.9g (%s)", static_cast<unsigned long long>(c.mismatches),
                  static_cast<unsigned long long>(c.compared), static_cast<unsigned long long>(c.first_mismatch),
                  c.device, hexbits(c.device).c_str(), c.reference, hexbits(c.reference).c_str());
    why = b;
  } else if (!fixed && (c.nonfinite_mismatch || !(c.rel_rms() <= tolerance))) {
    char b[160];
    std::snprintf(b, sizeof b, "relative RMS difference %.3g from the CPU reference exceeds %.1g%s", c.rel_rms(), tolerance,
                  c.nonfinite_mismatch ? " (inf/NaN where the reference is finite, or the reverse)" : "");
    why = b;
  }
  if (why.empty()) return true;
  if (v.first_failure.empty()) v.first_failure = where + ": " + why;
  v.passed = false;
  return false;
}

// The reference mode a device result is compared with: its own contract in fixed order; the
// default fixed contract in free order.
NumericMode reference_mode(const NumericMode& m) { return m.fixed() ? m : NumericMode{}; }

std::vector<uint32_t> sample_channels(uint32_t count) {
  std::set<uint32_t> s = {0, count / 3, 2 * count / 3, count - 1};
  if (count <= kSampledChannels) {
    s.clear();
    for (uint32_t c = 0; c < count; ++c) s.insert(c);
  }
  return {s.begin(), s.end()};
}

// Rows `rows` of a row-major [rows][row_len] matrix.
std::vector<float> pick_rows(const std::vector<float>& m, uint64_t row_len, const std::vector<uint32_t>& rows) {
  std::vector<float> out;
  out.reserve(rows.size() * row_len);
  for (uint32_t r : rows) out.insert(out.end(), m.begin() + r * row_len, m.begin() + (r + 1) * row_len);
  return out;
}

}  // namespace

Verification check_layers(const Network& net, const NumericMode& mode, uint32_t n,
                          const std::vector<std::vector<float>>& out, const std::vector<float>& timed_output) {
  Verification v;
  v.method = verify_name(Verify::Sampled);
  v.passed = true;
  const bool fixed = mode.fixed();
  const NumericMode rm = reference_mode(mode);
  if (out.size() != net.layers.size())
    throw std::invalid_argument("check_layers: " + std::to_string(out.size()) + " layer outputs for " +
                                std::to_string(net.layers.size()) + " layers");
  for (uint32_t i = 0; i < out.size(); ++i)
    if (out[i].size() != uint64_t(n) * net.layers[i].out.elements())
      throw std::invalid_argument("check_layers: layer " + std::to_string(i) + " output has " +
                                  std::to_string(out[i].size()) + " values, expected " +
                                  std::to_string(uint64_t(n) * net.layers[i].out.elements()));
  {
    const std::vector<float>& y = out.back();
    // The timed network (buffers reused, residual adds fused into their convolutions) must
    // give what the kept-outputs network gives: the same bits in fixed order.
    Comparison c;
    for (uint64_t i = 0; i < y.size() && i < timed_output.size(); ++i) c.add(timed_output[i], y[i], i);
    if (y.size() != timed_output.size()) c.mismatches = c.compared = std::max(y.size(), timed_output.size());
    judge(v, c, fixed, kFreeOutputTolerance, "timed network's output vs the verified network's");
  }
  auto param = [&](const std::string& name) { return ref::flush_for(rm, net.params.at(name)); };

  for (uint32_t i = 1; i < net.layers.size(); ++i) {
    const Layer& l = net.layers[i];
    if (is_alias(l)) continue;
    const std::vector<float>& x = out[l.inputs[0]];
    const std::vector<float>& d = out[i];
    const uint64_t count = uint64_t(n) * l.out.elements();
    const std::string where = "layer " + std::to_string(i) + " '" + l.name + "'";
    Comparison c;
    switch (l.kind) {
      case LayerKind::Conv2d:
      case LayerKind::Dense: {
        const bool conv = l.kind == LayerKind::Conv2d;
        const uint32_t channels = conv ? l.out_channels : l.units;
        const std::vector<uint32_t> pick = sample_channels(channels);
        const std::vector<float> w = param(l.name + ".weight");
        const uint64_t row = w.size() / channels;
        std::vector<float> b;
        if (l.bias) {
          const std::vector<float> all = param(l.name + ".bias");
          for (uint32_t k : pick) b.push_back(all[k]);
        }
        const uint64_t plane = conv ? uint64_t(l.out.h) * l.out.w : 1;
        std::vector<float> r;
        if (conv) {
          Conv2dShape s = conv_shape(net, l, n);
          s.c_out = static_cast<uint32_t>(pick.size());
          r = ref::conv2d_fixed(s, x, pick_rows(w, row, pick), b, rm);
        } else {
          const DenseShape s{n, uint32_t(net.layers[l.inputs[0]].out.elements()), uint32_t(pick.size()), l.bias, l.relu};
          r = ref::dense_fixed(s, x, pick_rows(w, row, pick), b, rm);
        }
        for (uint32_t b_i = 0; b_i < n; ++b_i)
          for (size_t k = 0; k < pick.size(); ++k)
            for (uint64_t p = 0; p < plane; ++p) {
              const uint64_t di = (uint64_t(b_i) * channels + pick[k]) * plane + p;
              c.add(d[di], r[(uint64_t(b_i) * pick.size() + k) * plane + p], di);
            }
        break;
      }
      default: {
        std::vector<float> r;
        switch (l.kind) {
          case LayerKind::MaxPool:
          case LayerKind::AvgPool: r = ref::pool2d_fixed(pool_shape(net, l, n), x, rm); break;
          case LayerKind::GlobalAvgPool: {
            const graph::Shape3 in = net.layers[l.inputs[0]].out;
            r = ref::global_avg_pool_fixed({n, in.c, in.h, in.w}, x, rm);
            break;
          }
          case LayerKind::Add: r = ref::eltwise_fixed({count, l.relu}, x, out[l.inputs[1]], rm); break;
          case LayerKind::Relu: r = ref::eltwise_fixed({count, false}, x, {}, rm); break;
          case LayerKind::Softmax: r = ref::softmax_fixed({n, uint32_t(l.out.elements())}, x, rm); break;
          default: throw std::logic_error(where + ": no reference for " + graph::kind_name(l.kind));
        }
        for (uint64_t k = 0; k < r.size(); ++k) c.add(d[k], r[k], k);
      }
    }
    judge(v, c, fixed, kFreeLayerTolerance, where);
    if (!v.passed) break;
  }
  v.bit_exact = fixed && v.passed && v.mismatches == 0;
  return v;
}

namespace {

Verification verify_sampled(Device& device, const Network& net, const NumericMode& mode, uint32_t n,
                            const std::vector<float>& input, const std::vector<float>& timed_output) {
  // The same ops (and so the same kernels) as the timed network, with every output kept.
  graph::CompiledNetwork keep(device, net, {n, mode, /*keep_layer_outputs=*/true, false, false});
  keep.run(input);
  std::vector<std::vector<float>> out(net.layers.size());
  for (uint32_t i = 0; i < net.layers.size(); ++i) out[i] = keep.layer_output(i);
  return check_layers(net, mode, n, out, timed_output);
}

Verification verify_full(const std::vector<float>& reference_output, const NumericMode& mode,
                         const std::vector<float>& timed_output) {
  Verification v;
  v.method = verify_name(Verify::Full);
  v.passed = true;
  Comparison c;
  for (uint64_t i = 0; i < timed_output.size(); ++i) c.add(timed_output[i], reference_output[i], i);
  judge(v, c, mode.fixed(), kFreeOutputTolerance, "final output");
  v.bit_exact = mode.fixed() && v.passed;
  return v;
}

// Which layer each dispatch belongs to, and which later layers it also computes. The executor
// labels a dispatch "<scope> (<kernel>)" and records the layers in order; the scope is the
// layer's name, or "<conv> + <add>" where it fused a residual Add into the convolution.
struct Owner {
  uint32_t layer = 0;
  std::vector<uint32_t> fused;
  std::string kernel;
};

std::vector<Owner> attribute(const Network& net, const std::vector<DispatchTiming>& t) {
  std::vector<Owner> out;
  uint32_t j = 1;
  auto starts_at = [](const std::string& s, size_t at, const std::string& p) { return s.compare(at, p.size(), p) == 0; };
  for (const DispatchTiming& d : t) {
    const std::string& label = d.label;
    auto follows = [&](uint32_t i) {
      const std::string& n = net.layers[i].name;
      return starts_at(label, 0, n) && (starts_at(label, n.size(), " (") || starts_at(label, n.size(), " + "));
    };
    while (j < net.layers.size() && !follows(j)) ++j;
    if (j == net.layers.size()) throw std::logic_error("bench: dispatch '" + label + "' matches no layer in order");
    Owner o;
    o.layer = j;
    size_t at = net.layers[j].name.size();
    while (starts_at(label, at, " + ")) {
      at += 3;
      int best = -1;  // the longest later layer name at this point
      for (uint32_t k = j + 1; k < net.layers.size(); ++k)
        if (starts_at(label, at, net.layers[k].name) && (best < 0 || net.layers[k].name.size() > net.layers[best].name.size()))
          best = static_cast<int>(k);
      if (best < 0) throw std::logic_error("bench: dispatch '" + label + "' names a fused layer that is not in the network");
      o.fused.push_back(static_cast<uint32_t>(best));
      at += net.layers[best].name.size();
    }
    if (!starts_at(label, at, " (") || label.back() != ')')
      throw std::logic_error("bench: dispatch '" + label + "' is not labelled '<layer> (<kernel>)'");
    o.kernel = label.substr(at + 2, label.size() - at - 3);
    out.push_back(std::move(o));
  }
  return out;
}

// CPU time of every thread of this process: on a CPU driver the device's worker threads do
// the work, so on a shared machine this measures the work where the wall clock measures the
// contention too.
double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) * 1e-6;
}

double sum_ms(const std::vector<DispatchTiming>& t) {
  double s = 0;
  for (const auto& d : t) s += d.ms;
  return s;
}

}  // namespace

Verify parse_verify(const std::string& s) {
  if (s == "sampled") return Verify::Sampled;
  if (s == "full") return Verify::Full;
  if (s == "none") return Verify::None;
  throw std::invalid_argument("--verify '" + s + "': expected sampled, full or none");
}

const char* verify_name(Verify v) {
  switch (v) {
    case Verify::Sampled: return "sampled";
    case Verify::Full: return "full";
    case Verify::None: return "none";
  }
  return "?";
}

LayerCost layer_cost(const Network& net, uint32_t index, uint32_t batch) {
  const Layer& l = net.layers.at(index);
  LayerCost c;
  if (index == 0 || is_alias(l)) return c;
  const uint64_t n = batch;
  auto param_elements = [&](const std::string& role) -> uint64_t {
    auto it = net.params.find(l.name + role);
    return it == net.params.end() ? 0 : it->second.size();
  };
  for (uint32_t in : l.inputs) c.bytes_read += 4 * n * net.layers[in].out.elements();
  c.bytes_read += 4 * (param_elements(".weight") + param_elements(".bias"));
  c.bytes_written = 4 * n * l.out.elements();
  if (l.kind == LayerKind::Conv2d) c.macs = n * l.out.elements() * net.layers[l.inputs[0]].out.c * l.kh * l.kw;
  if (l.kind == LayerKind::Dense) c.macs = n * l.units * net.layers[l.inputs[0]].out.elements();
  return c;
}

bool BenchResult::verified() const {
  for (const ModeResult& m : modes)
    if (!m.refused && !m.verification.passed) return false;
  return true;
}

std::vector<size_t> turn_order(uint32_t round, size_t modes) {
  // Rows of a Williams design: 0, 1, n-1, 2, n-2, ... shifted by round / 2, reversed in odd
  // rounds (the reversals balance the adjacent pairs for odd n too).
  std::vector<size_t> order(modes);
  for (size_t j = 0; j < modes; ++j) {
    const size_t base = j == 0 ? 0 : (j % 2 == 1 ? (j + 1) / 2 : modes - j / 2);
    order[j] = (base + round / 2) % modes;
  }
  if (round % 2 == 1) std::reverse(order.begin(), order.end());
  return order;
}

BenchResult run_bench(Device& device, const Network& net, const std::vector<float>& input, const BenchOptions& o) {
  if (o.batch == 0) throw std::invalid_argument("bench: batch size 0: expected >= 1");
  if (o.reps == 0) throw std::invalid_argument("bench: --reps 0: expected >= 1");
  if (o.modes.empty()) throw std::invalid_argument("bench: no numeric mode to run");
  const bool ts = device.traits().timestamps && !o.host_timing;
  BenchResult r;
  r.timing = ts ? "gpu_timestamps" : "host";
  r.batch = o.batch, r.warmup = o.warmup, r.reps = o.reps;
  r.macs = net.macs() * o.batch;
  std::map<DenormRule, std::vector<float>> full_reference;  // final output per denormal rule (Verify::Full)

  // Phase 1, per mode: build, first run, verification. The compiled networks are kept for
  // phase 2 where the device holds them all at once (interleaved timing); otherwise each mode
  // is timed right after its verification and freed (sequential timing).
  struct Timed {
    std::unique_ptr<graph::CompiledNetwork> compiled;
    std::vector<double> compute, gpu, upload, download, cpu;
    std::vector<std::vector<double>> per_layer;
    std::vector<Owner> owners;
  };
  std::vector<Timed> timed(o.modes.size());
  uint64_t held_bytes = 0;  // weights + activations of the networks kept so far
  uint64_t last_bytes = 0;  // of the last network built (every mode's network has the same size)
  const uint64_t heap = device.memory_budget();
  r.interleaved = o.interleave;

  // One timed run of mode k (its compiled network must be alive).
  auto time_once = [&](size_t k) {
    Timed& tm = timed[k];
    const double cpu0 = process_cpu_ms();
    tm.compiled->run(input);
    tm.cpu.push_back(process_cpu_ms() - cpu0);
    const graph::RunTiming& rt = tm.compiled->last_run_timing();
    tm.compute.push_back(rt.execute_ms);
    tm.upload.push_back(rt.upload_ms);
    tm.download.push_back(rt.download_ms);
    if (!ts) return;
    const auto t = tm.compiled->timings();
    if (tm.owners.empty()) {
      tm.owners = attribute(net, t);
      tm.per_layer.assign(net.layers.size(), {});
    }
    if (t.size() != tm.owners.size()) throw std::logic_error("bench: the number of dispatches changed between runs");
    std::vector<double> layer_ms(net.layers.size(), 0.0);
    for (size_t i = 0; i < t.size(); ++i) layer_ms[tm.owners[i].layer] += t[i].ms;
    for (uint32_t i = 0; i < net.layers.size(); ++i) tm.per_layer[i].push_back(layer_ms[i]);
    tm.gpu.push_back(sum_ms(t));
  };
  // The ceiling, re-measured after every round of timed runs (interleaved: after rep i of every
  // mode; sequential: after each run).
  std::unique_ptr<PeakProbe> probe;
  if (o.peak_alongside) {
    probe = std::make_unique<PeakProbe>(device, 100.0, o.host_timing);
    r.peak_probe = probe->name();
  }
  auto sample_peak = [&] {
    if (probe) r.peak_alongside.push_back(probe->sample());
  };
  auto time_sequentially = [&](size_t k) {
    for (uint32_t w = 0; w < o.warmup; ++w) timed[k].compiled->run(input);
    for (uint32_t rep = 0; rep < o.reps; ++rep) time_once(k), sample_peak();
    timed[k].compiled.reset();
  };
  // Networks are kept for interleaved timing while they fit in 7/8 of the device's memory
  // together (the rest for the driver and staging); past that, the ones kept are timed now, one
  // after the other, and so is every later mode.
  auto go_sequential = [&](size_t upto) {
    r.interleaved = false;
    for (size_t j = 0; j < upto; ++j)
      if (timed[j].compiled) time_sequentially(j);
  };

  for (size_t k = 0; k < o.modes.size(); ++k) {
    const NumericMode& mode = o.modes[k];
    ModeResult mr;
    mr.mode = mode;
    if (auto why = device.traits().refusal(mode)) {
      mr.refused = *why;
      r.modes.push_back(std::move(mr));
      continue;
    }
    if (r.interleaved && heap && held_bytes + last_bytes > heap / 8 * 7) go_sequential(k);
    auto t0 = Clock::now();
    timed[k].compiled = std::make_unique<graph::CompiledNetwork>(device, net, graph::ExecuteOptions{o.batch, mode, false, false, ts});
    graph::CompiledNetwork& compiled = *timed[k].compiled;
    mr.build_ms = ms_since(t0);
    mr.weight_bytes = compiled.weight_bytes();
    mr.activation_bytes = compiled.activation_bytes();
    t0 = Clock::now();
    const std::vector<float> first = compiled.run(input);
    mr.first_run_ms = ms_since(t0);
    if (ts) mr.first_run_gpu_ms = sum_ms(compiled.timings());

    t0 = Clock::now();
    switch (o.verify) {
      case Verify::Sampled: mr.verification = verify_sampled(device, net, mode, o.batch, input, first); break;
      case Verify::Full: {
        const NumericMode rm = reference_mode(mode);
        auto it = full_reference.find(rm.denorm);
        if (it == full_reference.end()) {
          auto all = graph::reference_forward(net, input, {o.batch, rm, false, 0});
          it = full_reference.emplace(rm.denorm, std::move(all.back())).first;
        }
        mr.verification = verify_full(it->second, mode, first);
        break;
      }
      case Verify::None:
        mr.verification.method = verify_name(Verify::None);
        mr.verification.passed = true;
        break;
    }
    mr.verification.ms = ms_since(t0);
    r.modes.push_back(std::move(mr));
    if (!r.modes.back().verification.passed) {
      timed[k].compiled.reset();
      continue;
    }
    const uint64_t bytes = compiled.weight_bytes() + compiled.activation_bytes();
    last_bytes = bytes;
    if (r.interleaved && heap && held_bytes + bytes > heap / 8 * 7) go_sequential(k);
    if (r.interleaved)
      held_bytes += bytes;
    else
      time_sequentially(k);
  }

  // Phase 2 (interleaved): warm-up runs of every mode, then rep 1 of every mode, rep 2 of
  // every mode, ...: a host whose speed drifts during the benchmark (frequency, neighbours on a
  // shared machine) then slows every mode alike, and the ratios stay fair. The order changes
  // from round to round (turn_order): with one order for every round, free order always ran
  // right after fixed/ftz and VGG19's fixed/free read 1.03-1.16 at width 256, where changing
  // orders read 0.89-1.05 (same code, same hour).
  if (r.interleaved) {
    for (uint32_t w = 0; w < o.warmup; ++w)
      for (size_t k = 0; k < timed.size(); ++k)
        if (timed[k].compiled) timed[k].compiled->run(input);
    for (uint32_t rep = 0; rep < o.reps; ++rep) {
      for (size_t k : turn_order(rep, timed.size()))
        if (timed[k].compiled) time_once(k);
      sample_peak();
    }
    for (Timed& tm : timed) tm.compiled.reset();
  }
  if (probe) probe->verify();

  for (size_t k = 0; k < r.modes.size(); ++k) {
    ModeResult& mr = r.modes[k];
    Timed& tm = timed[k];
    if (mr.refused || !mr.verification.passed) continue;
    mr.compute_ms = stats_of(tm.compute);
    mr.upload_ms = stats_of(tm.upload);
    mr.download_ms = stats_of(tm.download);
    mr.cpu_ms = stats_of(tm.cpu);
    if (ts) mr.gpu_ms = stats_of(tm.gpu);

    // Layers with dispatches, with their kernels and the layers fused into them. Without
    // timestamps the dispatches are not known: every layer that computes anything is listed,
    // with no times.
    std::vector<std::vector<std::string>> kernels(net.layers.size());
    std::vector<std::set<uint32_t>> fused(net.layers.size());
    std::set<uint32_t> fused_away;
    for (const Owner& ow : tm.owners) {
      kernels[ow.layer].push_back(ow.kernel);
      for (uint32_t f : ow.fused) fused[ow.layer].insert(f), fused_away.insert(f);
    }
    for (uint32_t i = 1; i < net.layers.size(); ++i) {
      if (is_alias(net.layers[i]) || fused_away.count(i)) continue;
      if (ts && kernels[i].empty()) continue;
      LayerResult lr;
      lr.index = i;
      lr.name = net.layers[i].name;
      lr.kind = graph::kind_name(net.layers[i].kind);
      lr.kernels = kernels[i];
      lr.dispatches = static_cast<uint32_t>(kernels[i].size());
      if (ts) lr.ms = stats_of(tm.per_layer[i]);
      lr.cost = layer_cost(net, i, o.batch);
      for (uint32_t f : fused[i]) {
        // The fused layer reads its other operands from memory; this layer's own output is
        // never written, the fused layer's is (the same size for a residual add).
        lr.fused.push_back(net.layers[f].name);
        lr.kind += "+" + std::string(graph::kind_name(net.layers[f].kind));
        const LayerCost fc = layer_cost(net, f, o.batch);
        for (uint32_t in : net.layers[f].inputs)
          if (in != i) lr.cost.bytes_read += 4ull * o.batch * net.layers[in].out.elements();
        lr.cost.bytes_written = fc.bytes_written;
        lr.cost.macs += fc.macs;
      }
      mr.layers.push_back(std::move(lr));
    }
  }
  return r;
}

namespace {

struct ShapeArgs {
  std::string op, text;
  std::map<std::string, uint32_t> values;
  std::set<std::string> used;
  uint32_t get(const std::string& key, std::optional<uint32_t> fallback = std::nullopt) {
    used.insert(key);
    auto it = values.find(key);
    if (it != values.end()) return it->second;
    if (fallback) return *fallback;
    throw std::invalid_argument("bench-op --op " + op + " --shape '" + text + "': missing key '" + key + "'");
  }
  void done() const {
    for (const auto& [k, v] : values)
      if (!used.count(k))
        throw std::invalid_argument("bench-op --op " + op + " --shape '" + text + "': unknown key '" + k + "' for this op");
  }
};

ShapeArgs parse_shape(const std::string& op, const std::string& text) {
  ShapeArgs a;
  a.op = op, a.text = text;
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, end - at);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      throw std::invalid_argument("bench-op --shape '" + text + "': '" + item + "' is not key=value");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    uint64_t v = 0;
    for (char ch : value) {
      if (ch < '0' || ch > '9' || v > 0xFFFFFFFFull / 10)
        throw std::invalid_argument("bench-op --shape '" + text + "': value of '" + key + "' is '" + value +
                                    "', expected a non-negative integer");
      v = v * 10 + uint64_t(ch - '0');
    }
    if (a.values.count(key)) throw std::invalid_argument("bench-op --shape '" + text + "': key '" + key + "' given twice");
    a.values[key] = static_cast<uint32_t>(v);
    at = end + 1;
  }
  return a;
}

}  // namespace

Network make_op_network(const std::string& op, const std::string& shape) {
  ShapeArgs a = parse_shape(op, shape);
  Network net;
  net.name = "op:" + op;
  Layer l;
  l.name = op;
  if (op == "conv2d") {
    l.kind = LayerKind::Conv2d;
    l.out_channels = a.get("co");
    const uint32_t k = a.get("k", 3);
    l.kh = a.get("kh", k), l.kw = a.get("kw", k);
    l.stride_h = l.stride_w = a.get("s", 1);
    l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = a.get("p", (k - 1) / 2);
    l.bias = a.get("bias", 1) != 0;
    l.relu = a.get("relu", 1) != 0;
    if (a.get("residual", 0) != 0) {
      // A ResNet block's end: input (co, h, w) -> 1x1 conv to c channels -> this conv -> + the
      // input, then ReLU if relu=1 (on the sum, as in ResNet). The Add is fused into the conv
      // (one layer of kind Conv2d+Add), which needs the conv to keep the input's shape; the 1x1
      // conv in front is timed apart.
      if (l.stride_h != 1 || 2 * l.pad_top + 1 != l.kh || 2 * l.pad_left + 1 != l.kw)
        throw std::invalid_argument("bench-op --shape: residual=1 needs s=1 and p=(k-1)/2 with an odd k (the Add "
                                    "takes the convolution's output in the input's shape)");
      net.add_input({l.out_channels, a.get("h"), a.get("w")});
      Layer squeeze;
      squeeze.name = "conv2d_in", squeeze.kind = LayerKind::Conv2d, squeeze.out_channels = a.get("c");
      squeeze.bias = squeeze.relu = true;
      net.add(squeeze);
      Layer add;
      add.name = "add", add.kind = LayerKind::Add, add.relu = l.relu;
      l.relu = false;
      net.add(l);
      add.inputs = {net.output(), 0};
      l = add;
    } else {
      net.add_input({a.get("c"), a.get("h"), a.get("w")});
    }
  } else if (op == "dense") {
    net.add_input({a.get("in"), 1, 1});
    l.kind = LayerKind::Dense;
    l.units = a.get("out");
    l.bias = a.get("bias", 1) != 0;
    l.relu = a.get("relu", 0) != 0;
  } else if (op == "maxpool" || op == "avgpool") {
    net.add_input({a.get("c"), a.get("h"), a.get("w")});
    l.kind = op == "maxpool" ? LayerKind::MaxPool : LayerKind::AvgPool;
    const uint32_t k = a.get("k", 2);
    l.kh = l.kw = k;
    l.stride_h = l.stride_w = a.get("s", k);
    l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = a.get("p", 0);
  } else if (op == "gap") {
    net.add_input({a.get("c"), a.get("h"), a.get("w")});
    l.kind = LayerKind::GlobalAvgPool;
  } else if (op == "add" || op == "relu") {
    net.add_input({a.get("c"), a.get("h"), a.get("w")});
    l.kind = op == "add" ? LayerKind::Add : LayerKind::Relu;
    if (op == "add") l.inputs = {0, 0};  // x + x
  } else if (op == "softmax") {
    net.add_input({a.get("n", 1000), 1, 1});
    l.kind = LayerKind::Softmax;
  } else {
    throw std::invalid_argument("bench-op --op '" + op + "': expected conv2d, dense, maxpool, avgpool, gap, add, relu or softmax");
  }
  a.done();
  net.add(l);
  net.infer_shapes();  // throws naming the layer when the shape makes no sense
  return net;
}

}  // namespace lockstep::bench
