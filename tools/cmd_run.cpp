#include "cmd_run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>

#include <unistd.h>
#include <xxh3.h>

#include "conformance/op_suite.hpp"
#include "graph/executor.hpp"
#include "graph/reference_forward.hpp"
#include "io/image.hpp"
#include "io/labels.hpp"
#include "io/npy.hpp"
#include "io/result_file.hpp"
#include "models/models.hpp"
#include "vk/device.hpp"
#ifdef LOCKSTEP_HAVE_ONNX
#include "onnx/onnx_export.hpp"
#include "onnx/onnx_import.hpp"
#endif
#ifdef LOCKSTEP_HAVE_KERAS
#include "keras/keras_h5.hpp"
#endif

namespace lockstep::cli {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

bool progress_enabled() { return ::isatty(STDERR_FILENO); }
void progress(const std::string& what) {
  if (progress_enabled()) std::fprintf(stderr, "\r\033[K%s", what.c_str());
}
void progress_done() {
  if (progress_enabled()) std::fprintf(stderr, "\r\033[K");
}

std::string hex128(const void* data, size_t bytes) {
  const XXH128_hash_t h = XXH3_128bits(data, bytes);
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

std::string weights_hash(const graph::Network& net) {
  XXH3_state_t* s = XXH3_createState();
  XXH3_128bits_reset(s);
  for (const auto& [name, values] : net.params) {  // std::map: sorted by name
    XXH3_128bits_update(s, name.data(), name.size() + 1);
    XXH3_128bits_update(s, values.data(), values.size() * 4);
  }
  const XXH128_hash_t h = XXH3_128bits_digest(s);
  XXH3_freeState(s);
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

graph::Network load_network(const RunOptions& o, io::Preprocess preset) {
  models::ModelOptions mo;
  mo.arch = o.model;
  mo.layout = models::parse_layout(o.layout);
  mo.input_size = o.input_size;
  const std::string& w = o.weights;
  if (w.rfind("random:", 0) == 0) {
    uint64_t seed = 0;
    try {
      size_t used = 0;
      seed = std::stoull(w.substr(7), &used);
      if (used != w.size() - 7) throw std::invalid_argument("trailing characters");
    } catch (const std::exception&) {
      throw std::invalid_argument("--weights '" + w + "': expected random:SEED with SEED a non-negative integer");
    }
    graph::Network net = models::build(mo);
    models::init_synthetic(net, seed, preset == io::Preprocess::Keras ? 64.0 : 1.0);
    return net;
  }
  if (w.size() > 5 && w.ends_with(".onnx")) {
#ifdef LOCKSTEP_HAVE_ONNX
    // The architecture is the file's; --model and --layout do not apply.
    return onnx::import_onnx(w, {o.input_size, o.input_size});
#else
    throw std::invalid_argument("--weights " + w + ": this build has no ONNX support");
#endif
  }
  if (w.size() > 3 && w.ends_with(".h5")) {
#ifdef LOCKSTEP_HAVE_KERAS
    // keras.applications files: the architecture is the built-in one with Keras names; a
    // *_notop file has no classifier (the output is then the feature map or pooled features).
    if (mo.layout != models::Layout::Keras)
      throw std::invalid_argument("--weights " + w + ": Keras weight files need --layout keras");
    mo.include_top = w.find("notop") == std::string::npos;
    graph::Network net = models::build(mo);
    keras::load_keras_weights(net, w);
    return net;
#else
    throw std::invalid_argument("--weights " + w + ": this build has no Keras HDF5 support");
#endif
  }
  throw std::invalid_argument("--weights '" + w + "': expected random:SEED, a .onnx file or a Keras .h5 file");
}

struct Inputs {
  std::vector<std::string> names;
  std::vector<float> data;  // inputs.size() * 3 * size * size
};

Inputs load_inputs(const RunOptions& o, io::Preprocess preset) {
  Inputs in;
  const uint64_t per = 3ull * o.input_size * o.input_size;
  if (o.inputs.empty()) {
    const auto img = io::generate_test_image(320, 240, 7);
    const auto x = io::preprocess(img, preset, o.input_size);
    in.names.push_back("(generated test image 320x240)");
    in.data.insert(in.data.end(), x.begin(), x.end());
    return in;
  }
  for (const std::string& path : o.inputs) {
    if (path.size() > 4 && path.ends_with(".npy")) {
      const io::NpyArray a = io::read_npy(path);
      const bool chw = a.shape.size() == 3 && a.shape[0] == 3 && a.shape[1] == o.input_size && a.shape[2] == o.input_size;
      const bool nchw = a.shape.size() == 4 && a.shape[1] == 3 && a.shape[2] == o.input_size && a.shape[3] == o.input_size;
      if (!chw && !nchw) {
        std::string shape;
        for (uint64_t d : a.shape) shape += (shape.empty() ? "" : ",") + std::to_string(d);
        throw std::invalid_argument(path + ": tensor shape [" + shape + "], expected [3," + std::to_string(o.input_size) +
                                    "," + std::to_string(o.input_size) + "] or [N,3," + std::to_string(o.input_size) +
                                    "," + std::to_string(o.input_size) + "] (NCHW, preprocessed)");
      }
      const uint64_t n = chw ? 1 : a.shape[0];
      for (uint64_t i = 0; i < n; ++i) in.names.push_back(n == 1 ? path : path + "[" + std::to_string(i) + "]");
      in.data.insert(in.data.end(), a.data.begin(), a.data.end());
    } else {
      const auto x = io::preprocess(io::load_image(path), preset, o.input_size);
      in.names.push_back(path);
      in.data.insert(in.data.end(), x.begin(), x.end());
    }
  }
  if (in.data.size() != in.names.size() * per) throw std::logic_error("input assembly");
  return in;
}

void print_top(const std::vector<float>& probs, size_t classes, uint32_t top, const std::vector<std::string>& labels,
               const std::vector<double>* stddev = nullptr) {
  std::vector<uint32_t> idx(classes);
  for (uint32_t i = 0; i < classes; ++i) idx[i] = i;
  const uint32_t k = std::min<uint32_t>(top, classes);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](uint32_t a, uint32_t b) {
    return probs[a] > probs[b] || (probs[a] == probs[b] && a < b);
  });
  for (uint32_t r = 0; r < k; ++r) {
    const uint32_t c = idx[r];
    const std::string label = c < labels.size() ? labels[c] : "class " + std::to_string(c);
    if (stddev)
      std::printf("    %u. %.6f ± %.6f  %s (%u)\n", r + 1, probs[c], (*stddev)[c], label.c_str(), c);
    else
      std::printf("    %u. %.6f  %s (%u)\n", r + 1, probs[c], label.c_str(), c);
  }
}

}  // namespace

int run(Context& ctx, const RunOptions& o) {
  const NumericMode mode{parse_order(o.order), parse_contract(o.contract), parse_denorm(o.denormals)};
  const models::Layout layout = models::parse_layout(o.layout);
  const io::Preprocess preset =
      o.preprocess.empty() ? (layout == models::Layout::Keras ? io::Preprocess::Keras : io::Preprocess::Torch)
                           : io::parse_preprocess(o.preprocess);
  if (o.top == 0) throw std::invalid_argument("--top 0: expected >= 1");

  progress("building " + o.model + " and its weights ...");
  graph::Network net = load_network(o, preset);
  const std::string whash = weights_hash(net);
  graph::prepare(net);
  const graph::Shape3 in_shape = net.layers[0].out;
  if (in_shape.c != 3 || in_shape.h != in_shape.w)
    throw std::invalid_argument("the model's input is " + std::to_string(in_shape.c) + "x" + std::to_string(in_shape.h) +
                                "x" + std::to_string(in_shape.w) + ": expected 3 channels and a square image");
  RunOptions sized = o;
  sized.input_size = in_shape.h;
  const Inputs inputs = load_inputs(sized, preset);
  const uint32_t count = static_cast<uint32_t>(inputs.names.size());
  const uint32_t batch = o.batch ? o.batch : count;
  const uint64_t per_input = net.layers[0].out.elements();
  const size_t classes = net.layers.back().out.elements();
  const std::string input_hash = hex128(inputs.data.data(), inputs.data.size() * 4);
  std::vector<std::string> labels;
  if (classes == io::kImageNetClasses && net.layers.back().kind == graph::LayerKind::Softmax) labels = io::load_labels(io::default_labels_path());
  progress_done();

  int rc = 0;
  const auto device_indices = ctx.select(o.device);
  for (uint32_t di : device_indices) {
    progress("device " + std::to_string(di) + ": probing ...");
    Device device(ctx, di);
    const auto& t = device.traits();
    device.require(mode);
    graph::ExecuteOptions eo{batch, mode, o.layers || o.check, o.mc_dropout > 0, o.profile};
    progress("device " + std::to_string(di) + ": compiling " + std::to_string(net.layers.size()) + " layers ...");
    auto t0 = Clock::now();
    graph::CompiledNetwork compiled(device, net, eo);
    const double compile_ms = ms_since(t0);
    progress_done();
    std::printf("device %u: %s (%s), subgroup %u — %s, %s, %s %ux%u, batch %u, weights %s\n", di, t.name.c_str(),
                t.driver_name.c_str(), t.subgroup_size_measured, describe(mode).c_str(),
                o.weights.ends_with(".onnx") ? net.name.c_str() : o.model.c_str(), models::layout_name(layout),
                in_shape.h, in_shape.w, batch, o.weights.c_str());

    std::vector<float> outputs(uint64_t(count) * classes);
    std::vector<double> mean(outputs.size(), 0.0), m2(outputs.size(), 0.0);
    std::vector<std::vector<float>> layer_outputs;  // first batch, with --layers
    double run_ms = 0.0;
    const uint32_t passes = std::max<uint32_t>(1, o.mc_dropout);
    for (uint32_t first = 0; first < count; first += batch) {
      const uint32_t n = std::min(batch, count - first);
      std::vector<float> x(uint64_t(batch) * per_input);
      for (uint32_t b = 0; b < batch; ++b) {  // a short last batch repeats its last input
        const uint32_t src = first + std::min(b, n - 1);
        std::copy_n(inputs.data.begin() + uint64_t(src) * per_input, per_input, x.begin() + uint64_t(b) * per_input);
      }
      for (uint32_t p = 0; p < passes; ++p) {
        if (passes > 1) progress("Monte-Carlo dropout pass " + std::to_string(p + 1) + "/" + std::to_string(passes));
        else if (count > batch) progress("batch starting at input " + std::to_string(first + 1) + "/" + std::to_string(count));
        const uint64_t seed = o.seed + uint64_t(p) * 0x9E3779B97F4A7C15ull;
        t0 = Clock::now();
        const auto y = compiled.run(x, seed);
        run_ms += ms_since(t0);
        for (uint64_t i = 0; i < uint64_t(n) * classes; ++i) {
          const uint64_t k = uint64_t(first) * classes + i;
          outputs[k] = y[i];
          const double d = y[i] - mean[k];  // Welford, in pass order: the same on every device
          mean[k] += d / (p + 1);
          m2[k] += d * (y[i] - mean[k]);
        }
        if (first == 0 && p == 0 && eo.keep_layer_outputs)
          for (uint32_t li = 0; li < net.layers.size(); ++li) layer_outputs.push_back(compiled.layer_output(li));
      }
    }
    progress_done();
    for (uint32_t i = 0; i < count; ++i) {
      std::printf("  %s\n", inputs.names[i].c_str());
      if (passes > 1) {
        std::vector<float> mf(classes);
        std::vector<double> sd(classes);
        for (size_t c = 0; c < classes; ++c) {
          mf[c] = static_cast<float>(mean[uint64_t(i) * classes + c]);
          sd[c] = std::sqrt(m2[uint64_t(i) * classes + c] / passes);
        }
        print_top(mf, classes, o.top, labels, &sd);
      } else {
        print_top(std::vector<float>(outputs.begin() + uint64_t(i) * classes, outputs.begin() + uint64_t(i + 1) * classes),
                  classes, o.top, labels);
      }
    }
    std::printf("  time: compile %.0f ms, run %.0f ms (%u pass%s of %u input%s, transfers included); device memory: "
                "weights %.1f MiB, activations %.1f MiB\n",
                compile_ms, run_ms, passes, passes > 1 ? "es" : "", count, count > 1 ? "s" : "",
                compiled.weight_bytes() / 1048576.0, compiled.activation_bytes() / 1048576.0);
    if (o.profile) {
      const auto timings = compiled.timings();
      double total = 0.0;
      for (const auto& d : timings) total += d.ms;
      std::printf("  GPU time per dispatch (last run, timestamps): %.1f ms in %zu dispatches\n", total, timings.size());
      for (const auto& d : timings) std::printf("    %9.2f ms  %5.1f%%  %s\n", d.ms, 100.0 * d.ms / total, d.label.c_str());
    }
    const std::string fingerprint = hex128(outputs.data(), outputs.size() * 4);
    if (o.fingerprint)
      std::printf("  fingerprint (XXH3-128 of the %s output%s): %s\n", describe(mode).c_str(),
                  passes > 1 ? " of the last pass" : "", fingerprint.c_str());

    if (o.check) {
      progress("checking against the CPU reference ...");
      std::vector<float> x(uint64_t(batch) * per_input);
      for (uint32_t b = 0; b < batch; ++b)
        std::copy_n(inputs.data.begin() + uint64_t(std::min(b, count - 1)) * per_input, per_input, x.begin() + uint64_t(b) * per_input);
      const graph::ForwardOptions fo{batch, mode, o.mc_dropout > 0, o.seed};
      const auto ref = graph::reference_forward(net, x, fo);
      progress_done();
      if (mode.fixed()) {
        uint32_t exact = 0;
        for (uint32_t li = 0; li < net.layers.size(); ++li) {
          const auto& a = layer_outputs[li];
          if (a.size() == ref[li].size() && std::memcmp(a.data(), ref[li].data(), a.size() * 4) == 0) {
            exact++;
            continue;
          }
          size_t e = 0;
          while (e < a.size() && std::memcmp(&a[e], &ref[li][e], 4) == 0) ++e;
          uint32_t ab = 0, rb = 0;
          std::memcpy(&ab, &a[e], 4);
          std::memcpy(&rb, &ref[li][e], 4);
          std::printf("  check: layer %u '%s' differs from the CPU reference first at element %zu: device %.9g (0x%08x), "
                      "reference %.9g (0x%08x)\n",
                      li, net.layers[li].name.c_str(), e, a[e], ab, ref[li][e], rb);
          rc = 1;
          break;
        }
        if (exact == net.layers.size())
          std::printf("  check: all %u layers bit-identical to the CPU reference (%s)\n", exact, describe(mode).c_str());
      } else {
        const auto oracle = graph::oracle_forward(net, x, fo);
        const auto e = conformance::error_against(layer_outputs.back(), oracle.back());
        std::printf("  check: free order vs float64 oracle: max abs %.3g, relative RMS %.3g, max %llu ulp\n", e.max_abs,
                    e.rel_rms, static_cast<unsigned long long>(e.max_ulp));
      }
    }

    if (!o.save.empty()) {
      std::string path = o.save;
      if (device_indices.size() > 1) {
        const auto dot = path.rfind('.');
        const std::string suffix = ".device" + std::to_string(di);
        path = dot == std::string::npos ? path + suffix : path.substr(0, dot) + suffix + path.substr(dot);
      }
      std::vector<io::ResultTensor> tensors;
      tensors.push_back({"output", {count, classes}, outputs});
      std::map<std::string, std::string> meta = {
          {"format", "lockstep-result-1"},     {"engine", "lockstep 0.1.0"},
          {"device.name", t.name},             {"device.vendor", t.vendor},
          {"device.driver", t.driver_name + " " + t.driver_info},
          {"device.uuid", hex(t.device_uuid)}, {"device.subgroup_size", std::to_string(t.subgroup_size_measured)},
          {"order", std::string(to_string(mode.order))},
          {"contract", std::string(to_string(mode.mac))},
          {"denormals", std::string(to_string(mode.denorm))},
          {"model", (o.weights.rfind("random:", 0) == 0 || o.weights.ends_with(".h5")
                        ? o.model + "/" + models::layout_name(layout)
                        : "onnx:" + o.weights) + "/" + std::to_string(in_shape.h)},
          {"weights", o.weights},              {"weights.xxh3_128", whash},
          {"input.xxh3_128", input_hash},      {"preprocess", std::string(io::preprocess_name(preset))},
          {"output.xxh3_128", fingerprint}};
      if (o.layers)
        for (uint32_t li = 0; li < layer_outputs.size(); ++li) {
          const auto& l = net.layers[li];
          const std::string name = "layer." + std::to_string(li) + "." + l.name;
          tensors.push_back({name, {batch, l.out.c, l.out.h, l.out.w}, layer_outputs[li]});
          meta[name + ".xxh3_128"] = hex128(layer_outputs[li].data(), layer_outputs[li].size() * 4);
        }
      io::write_safetensors(path, tensors, meta);
      std::printf("  saved %s\n", path.c_str());
    }
  }
  return rc;
}

int export_model(const RunOptions& o, const std::string& path) {
  if (o.weights.rfind("random:", 0) != 0)
    throw std::invalid_argument("export: --weights must be random:SEED (the synthetic weights to write)");
  const models::Layout layout = models::parse_layout(o.layout);
  const io::Preprocess preset = o.preprocess.empty() ? (layout == models::Layout::Keras ? io::Preprocess::Keras
                                                                                      : io::Preprocess::Torch)
                                                     : io::parse_preprocess(o.preprocess);
  const graph::Network net = load_network(o, preset);
  if (path.ends_with(".onnx")) {
#ifdef LOCKSTEP_HAVE_ONNX
    onnx::save_onnx(net, path);
#else
    throw std::invalid_argument(path + ": this build has no ONNX support");
#endif
  } else if (path.ends_with(".h5")) {
#ifdef LOCKSTEP_HAVE_KERAS
    keras::save_keras_weights(net, path);
#else
    throw std::invalid_argument(path + ": this build has no Keras HDF5 support");
#endif
  } else {
    throw std::invalid_argument(path + ": expected a .onnx or .h5 file name");
  }
  std::printf("wrote %s: %s (%s layout, %ux%u), weights %s, %zu parameters tensors\n", path.c_str(), o.model.c_str(),
              models::layout_name(layout), o.input_size, o.input_size, o.weights.c_str(), net.params.size());
  return 0;
}

}  // namespace lockstep::cli
