// `lockstep bench` (a built-in model) and `lockstep bench-op` (one op at a given shape): the
// network is built with synthetic weights, verified, timed in each requested numeric mode, and
// reported as tables or JSON (docs/bench-schema.md).
#include <cstdio>
#include <fstream>
#include <iostream>

#include "bench/bench.hpp"
#include "bench/bench_report.hpp"
#include "cmd_bench.hpp"
#include "graph/reference_forward.hpp"
#include "io/file_util.hpp"
#include "io/image.hpp"
#include "models/models.hpp"
#include "numerics/philox.hpp"
#include "vk/device.hpp"

namespace lockstep::cli {

// NAME.json -> NAME.device<N>.json when several devices are measured.
std::string per_device_path(const std::string& path, uint32_t device, size_t devices) {
  if (devices <= 1) return path;
  const auto dot = path.rfind('.');
  const std::string suffix = ".device" + std::to_string(device);
  return dot == std::string::npos ? path + suffix : path.substr(0, dot) + suffix + path.substr(dot);
}

std::string write_json_for_device(const nlohmann::json& j, const std::string& json_option, uint32_t device,
                                  size_t devices) {
  const std::string path = per_device_path(json_option, device, devices);
  try {
    io::write_file_atomically(path, {j.dump(1), "\n"});
  } catch (const std::exception& e) {
    throw std::runtime_error("--json " + path + ": cannot write the file (" + e.what() + ")");
  }
  return path;
}

namespace {

std::vector<NumericMode> modes_of(const BenchCliOptions& o) {
  if (o.order != "fixed" && o.order != "free" && o.order != "both")
    throw std::invalid_argument("--order '" + o.order + "': expected fixed, free or both");
  if (o.denormals != "preserve" && o.denormals != "ftz" && o.denormals != "both")
    throw std::invalid_argument("--denormals '" + o.denormals + "': expected preserve, ftz or both");
  const MacContract mac = parse_contract(o.contract);
  std::vector<NumericMode> modes;
  if (o.order != "free") {
    if (o.denormals != "ftz") modes.push_back({Order::Fixed, mac, DenormRule::Preserve});
    if (o.denormals != "preserve") modes.push_back({Order::Fixed, mac, DenormRule::Ftz});
  }
  if (o.order != "fixed") modes.push_back({Order::Free});
  return modes;
}

// Uniform values in [-1, 1) from Philox: the same input everywhere.
std::vector<float> random_input(uint64_t count, uint64_t seed) {
  std::vector<float> v(count);
  for (uint64_t i = 0; i < count; i += 4) {
    const PhiloxCounter c = philox4x32_10({uint32_t(i), uint32_t(i >> 32), 0x62656e63u, 0},
                                          {uint32_t(seed), uint32_t(seed >> 32)});
    for (uint64_t k = 0; k < 4 && i + k < count; ++k) v[i + k] = float(c[k] >> 8) * 0x1p-23f - 1.0f;
  }
  return v;
}

uint64_t parse_seed(const std::string& w) {
  if (w.rfind("random:", 0) != 0 || w.size() == 7 || w.find_first_not_of("0123456789", 7) != std::string::npos)
    throw std::invalid_argument("--weights '" + w + "': bench takes random:SEED (synthetic weights), SEED a non-negative integer");
  return std::stoull(w.substr(7));
}

bench::PeakSource peak_source(Device& device, const std::string& spec, bool quiet) {
  bench::PeakSource s;
  std::string warning;
  if (spec == "none") {
    s.source = "none";
    return s;
  }
  if (spec == "auto") {
    if (auto cached = bench::load_peak_cache(device.traits(), &warning)) return *cached;
    if (!warning.empty()) std::fprintf(stderr, "lockstep: warning: %s\n", warning.c_str());
  }
  if (spec == "auto" || spec == "measure") {
    if (!quiet) std::fprintf(stderr, "measuring the fp32 peak (quick; `lockstep peak` measures it fully and caches it) ...\n");
    s.source = "measured";
    s.measured_at = bench::utc_now();
    s.peak = bench::measure_peak(device, bench::quick_peak_options());
    return s;
  }
  s = bench::load_peak_file(spec, device.traits(), &warning);
  if (!warning.empty()) std::fprintf(stderr, "lockstep: warning: %s\n", warning.c_str());
  return s;
}

}  // namespace

int bench(Context& ctx, const BenchCliOptions& o) {
  const std::vector<NumericMode> modes = modes_of(o);
  bench::BenchOptions bo;
  bo.modes = modes;
  bo.batch = o.batch;
  bo.warmup = o.warmup;
  bo.reps = o.reps;
  bo.verify = bench::parse_verify(o.verify);
  bo.host_timing = o.host_timing;
  bo.interleave = !o.sequential;
  bo.peak_alongside = o.peak != "none";
  if (o.batch == 0) throw std::invalid_argument("--batch 0: expected >= 1");
  if (o.reps == 0) throw std::invalid_argument("--reps 0: expected >= 1");

  bench::Workload w;
  graph::Network net;
  std::vector<float> input;
  const uint64_t seed = parse_seed(o.weights);
  if (o.op_mode) {
    w.command = "bench-op";
    w.op = o.op, w.shape = o.shape;
    net = bench::make_op_network(o.op, o.shape);
    models::init_synthetic(net, seed, 1.0);
    graph::prepare(net);
    input = random_input(uint64_t(o.batch) * net.layers[0].out.elements(), seed);
  } else {
    w.command = "bench";
    w.model = o.model, w.layout = o.layout, w.input_size = o.input_size, w.weights = o.weights;
    models::ModelOptions mo;
    mo.arch = o.model;
    mo.layout = models::parse_layout(o.layout);
    mo.input_size = o.input_size;
    const io::Preprocess preset = mo.layout == models::Layout::Keras ? io::Preprocess::Keras : io::Preprocess::Torch;
    net = models::build(mo);
    models::init_synthetic(net, seed, preset == io::Preprocess::Keras ? 64.0 : 1.0);
    graph::prepare(net);
    // A different generated image per batch element, preprocessed as `lockstep run` does.
    for (uint32_t b = 0; b < o.batch; ++b) {
      const auto x = io::preprocess(io::generate_test_image(320, 240, 7 + b), preset, o.input_size);
      input.insert(input.end(), x.begin(), x.end());
    }
  }

  int rc = 0;
  const auto devices = ctx.select(o.device);
  for (uint32_t di : devices) {
    Device device(ctx, di);
    const bool to_stdout = o.json == "-";
    const bench::PeakSource ps = peak_source(device, o.peak, to_stdout);
    if (!to_stdout) std::fprintf(stderr, "benchmarking on device %u (%s) ...\n", di, device.traits().name.c_str());
    const bench::BenchResult r = bench::run_bench(device, net, input, bo);
    if (!r.verified()) rc = 1;
    for (const auto& m : r.modes)
      if (m.refused) rc = 1;  // asked for and not run (the reason is in the report)
    if (o.json.empty() || !to_stdout) std::printf("%s", bench::bench_text(r, w, device.traits(), ps, net).c_str());
    if (!o.json.empty()) {
      const nlohmann::json j = bench::bench_json(r, w, device.traits(), ps, net);
      if (to_stdout) {
        std::cout << j.dump(1) << "\n";
      } else {
        std::printf("wrote %s\n", write_json_for_device(j, o.json, di, devices.size()).c_str());
      }
    }
    for (const auto& m : r.modes)
      if (!m.refused && !m.verification.passed)
        std::fprintf(stderr, "lockstep: %s failed verification, not timed: %s\n", describe(m.mode).c_str(),
                     m.verification.first_failure.c_str());
  }
  return rc;
}

}  // namespace lockstep::cli
