#include "model_session.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <unistd.h>
#include <xxh3.h>

#include "graph/executor.hpp"
#include "graph/reference_forward.hpp"
#include "io/labels.hpp"
#include "io/npy.hpp"
#include "vk/context.hpp"
#ifdef LOCKSTEP_HAVE_ONNX
#include "onnx/onnx_import.hpp"
#endif
#ifdef LOCKSTEP_HAVE_KERAS
#include "keras/keras_h5.hpp"
#endif

namespace lockstep::cli {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

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

}  // namespace

graph::Network load_network(const ModelSpec& o, io::Preprocess preset) {
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

namespace {

bool is_input_file(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".pnm", ".npy"})
    if (ext == e) return true;
  return false;
}

void add_input(PreparedModel& m, const std::string& path) {
  const uint32_t s = m.size;
  if (path.size() > 4 && path.ends_with(".npy")) {
    const io::NpyArray a = io::read_npy(path);
    const bool chw = a.shape.size() == 3 && a.shape[0] == 3 && a.shape[1] == s && a.shape[2] == s;
    const bool nchw = a.shape.size() == 4 && a.shape[1] == 3 && a.shape[2] == s && a.shape[3] == s;
    if (!chw && !nchw) {
      std::string shape;
      for (uint64_t d : a.shape) shape += (shape.empty() ? "" : ",") + std::to_string(d);
      const std::string n = std::to_string(s);
      throw std::invalid_argument(path + ": tensor shape [" + shape + "], expected [3," + n + "," + n + "] or [N,3," +
                                  n + "," + n + "] (NCHW, preprocessed)");
    }
    const uint64_t k = chw ? 1 : a.shape[0];
    for (uint64_t i = 0; i < k; ++i) m.input_names.push_back(k == 1 ? path : path + "[" + std::to_string(i) + "]");
    m.input_data.insert(m.input_data.end(), a.data.begin(), a.data.end());
  } else {
    const auto x = io::preprocess(io::load_image(path), m.steps, s);
    m.input_names.push_back(path);
    m.input_data.insert(m.input_data.end(), x.begin(), x.end());
  }
}

}  // namespace

void add_model_options(CLI::App& c, ModelSpec& s) {
  c.add_option("--model", s.model, "vgg11|vgg13|vgg16|vgg19[_bn]|resnet18|resnet34|resnet50|resnet101|resnet152")
      ->capture_default_str();
  c.add_option("--layout", s.layout, "keras or torch (where the stride and the dropout sit)")->capture_default_str();
  c.add_option("--weights", s.weights, "random:SEED (synthetic He weights), FILE.onnx, or a Keras FILE.h5")
      ->capture_default_str();
  c.add_option("--preprocess", s.preprocess, "keras or torch (default: the layout's)");
  c.add_option("--resize", s.resize, "change one preprocessing step: nearest or bilinear resize");
  c.add_option("--channels", s.channels, "change one preprocessing step: rgb or bgr channel order");
  c.add_option("--normalize", s.normalize, "change one preprocessing step: caffe or torch normalisation");
  c.add_option("--input-size", s.input_size, "square input size, >= 32")->capture_default_str();
  c.add_option("--batch", s.batch, "inputs per dispatch");
  c.add_option("--mc-dropout", s.mc_dropout, "Monte-Carlo dropout: N passes with dropout on");
  c.add_option("--seed", s.seed, "dropout seed for --mc-dropout")->capture_default_str();
  c.add_option("--inputs", s.inputs_dir, "a directory: every image (PNG, JPEG, BMP, PNM) and .npy tensor in it");
  c.add_option("--random", s.random_inputs, "N generated test images (seeds 1..N) as inputs");
  c.add_option("files", s.inputs, "images (PNG, JPEG, BMP, PNM) or .npy tensors; none: a generated image");
}

std::vector<float> PreparedModel::batch_input(uint32_t first) const {
  std::vector<float> x(uint64_t(batch) * per_input);
  const uint32_t n = std::min(batch, count - first);
  for (uint32_t b = 0; b < batch; ++b) {
    const uint32_t src = first + std::min(b, n - 1);
    std::copy_n(input_data.begin() + uint64_t(src) * per_input, per_input, x.begin() + uint64_t(b) * per_input);
  }
  return x;
}

PreparedModel prepare_model(const ModelSpec& o, uint32_t default_batch) {
  PreparedModel m;
  m.spec = o;
  m.layout = models::parse_layout(o.layout);
  m.preset = o.preprocess.empty() ? (m.layout == models::Layout::Keras ? io::Preprocess::Keras : io::Preprocess::Torch)
                                  : io::parse_preprocess(o.preprocess);
  m.steps = io::preset_steps(m.preset);
  if (!o.resize.empty()) m.steps.resize = io::parse_resize(o.resize);
  if (!o.channels.empty()) m.steps.channels = io::parse_channels(o.channels);
  if (!o.normalize.empty()) m.steps.normalize = io::parse_normalize(o.normalize);

  // The synthetic weights follow the preset, never a changed step: the same model, fed
  // differently preprocessed inputs.
  m.net = load_network(o, m.preset);
  m.weights_hash = weights_hash(m.net);
  graph::prepare(m.net);
  const graph::Shape3 in_shape = m.net.layers[0].out;
  if (in_shape.c != 3 || in_shape.h != in_shape.w)
    throw std::invalid_argument("the model's input is " + std::to_string(in_shape.c) + "x" + std::to_string(in_shape.h) +
                                "x" + std::to_string(in_shape.w) + ": expected 3 channels and a square image");
  // The inputs are allocated on the host before any device sees the network: bound the size an
  // (untrusted) ONNX file may ask for, as images are bounded (a larger input fits no device).
  if (in_shape.h > io::kMaxImageSide)
    throw std::invalid_argument("the model's input is " + std::to_string(in_shape.h) + "x" + std::to_string(in_shape.w) +
                                ": expected at most " + std::to_string(io::kMaxImageSide) + " per side");
  m.size = in_shape.h;
  m.per_input = in_shape.elements();
  m.classes = m.net.layers.back().out.elements();
  const bool onnx = o.weights.size() > 5 && o.weights.ends_with(".onnx");
  m.model_name = onnx ? m.net.name : o.model;
  m.model_identity = (onnx ? "onnx:" + o.weights : o.model + "/" + models::layout_name(m.layout)) + "/" +
                     std::to_string(m.size);

  const int sources = !o.inputs.empty() + !o.inputs_dir.empty() + (o.random_inputs > 0);
  if (sources > 1)
    throw std::invalid_argument("give inputs one way: image or tensor files, --inputs DIR, or --random N");
  for (const std::string& path : o.inputs) add_input(m, path);
  if (!o.inputs_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(o.inputs_dir, ec))
      throw std::invalid_argument("--inputs " + o.inputs_dir + ": not a directory");
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(o.inputs_dir))
      if (e.is_regular_file() && is_input_file(e.path())) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    if (files.empty())
      throw std::invalid_argument("--inputs " + o.inputs_dir +
                                  ": no image (.png .jpg .jpeg .bmp .ppm .pgm .pnm) or .npy file in it");
    for (const auto& f : files) add_input(m, f);
  }
  for (uint32_t k = 1; k <= o.random_inputs; ++k) {
    const auto x = io::preprocess(io::generate_test_image(320, 240, k), m.steps, m.size);
    m.input_names.push_back("(generated test image 320x240, seed " + std::to_string(k) + ")");
    m.input_data.insert(m.input_data.end(), x.begin(), x.end());
  }
  if (m.input_names.empty()) {
    const auto x = io::preprocess(io::generate_test_image(320, 240, 7), m.steps, m.size);
    m.input_names.push_back("(generated test image 320x240)");
    m.input_data.insert(m.input_data.end(), x.begin(), x.end());
  }
  if (m.input_data.size() != m.input_names.size() * m.per_input) throw std::logic_error("input assembly");
  m.count = static_cast<uint32_t>(m.input_names.size());
  m.batch = o.batch ? o.batch : default_batch ? std::min(default_batch, m.count) : m.count;
  m.input_hash = xxh3_hex(m.input_data.data(), m.input_data.size() * 4);
  if (m.classes == io::kImageNetClasses && m.net.layers.back().kind == graph::LayerKind::Softmax)
    m.labels = io::load_labels(io::default_labels_path());
  return m;
}

namespace {

// The batching and Monte-Carlo loop shared by the device and the reference: `forward(x, seed,
// keep)` runs one batch and returns its final output, and with `keep` every layer.
template <class Forward>
void run_batches(const PreparedModel& m, const ExecOptions& o, Execution& e, Forward forward) {
  e.passes = std::max<uint32_t>(1, m.spec.mc_dropout);
  e.outputs.assign(uint64_t(m.count) * m.classes, 0.0f);
  e.mean.assign(e.outputs.size(), 0.0);
  e.m2.assign(e.outputs.size(), 0.0);
  for (uint32_t first = 0; first < m.count; first += m.batch) {
    const uint32_t n = std::min(m.batch, m.count - first);
    const std::vector<float> x = m.batch_input(first);
    for (uint32_t p = 0; p < e.passes; ++p) {
      if (o.progress) {
        if (e.passes > 1) o.progress("Monte-Carlo dropout pass " + std::to_string(p + 1) + "/" + std::to_string(e.passes));
        else if (m.count > m.batch)
          o.progress("batch starting at input " + std::to_string(first + 1) + "/" + std::to_string(m.count));
      }
      const uint64_t seed = m.spec.seed + uint64_t(p) * 0x9E3779B97F4A7C15ull;
      const auto t0 = Clock::now();
      const std::vector<float> y = forward(x, seed, first == 0 && p == 0 && o.keep_layers, e);
      e.run_ms += ms_since(t0);
      for (uint64_t i = 0; i < uint64_t(n) * m.classes; ++i) {
        const uint64_t k = uint64_t(first) * m.classes + i;
        e.outputs[k] = y[i];
        const double d = y[i] - e.mean[k];  // Welford, in pass order: the same on every device
        e.mean[k] += d / (p + 1);
        e.m2[k] += d * (y[i] - e.mean[k]);
      }
    }
  }
}

}  // namespace

Execution execute_on_device(Device& device, const PreparedModel& m, const ExecOptions& o) {
  device.require(o.mode);
  Execution e;
  graph::ExecuteOptions eo{m.batch, o.mode, o.keep_layers, m.spec.mc_dropout > 0, o.profile};
  if (o.progress) o.progress("compiling " + std::to_string(m.net.layers.size()) + " layers ...");
  const auto t0 = Clock::now();
  graph::CompiledNetwork compiled(device, m.net, eo);
  e.compile_ms = ms_since(t0);
  run_batches(m, o, e, [&](const std::vector<float>& x, uint64_t seed, bool keep, Execution& ex) {
    auto y = compiled.run(x, seed);
    if (keep)
      for (uint32_t li = 0; li < m.net.layers.size(); ++li) ex.layers.push_back(compiled.layer_output(li));
    return y;
  });
  e.weight_bytes = compiled.weight_bytes();
  e.activation_bytes = compiled.activation_bytes();
  if (o.profile) e.timings = compiled.timings();
  return e;
}

Execution execute_reference(const PreparedModel& m, const ExecOptions& o) {
  if (!o.mode.fixed()) throw std::invalid_argument("the CPU reference runs the fixed order only");
  Execution e;
  run_batches(m, o, e, [&](const std::vector<float>& x, uint64_t seed, bool keep, Execution& ex) {
    const graph::ForwardOptions fo{m.batch, o.mode, m.spec.mc_dropout > 0, seed};
    auto layers = graph::reference_forward(m.net, x, fo);
    std::vector<float> y = layers.back();
    if (keep) ex.layers = std::move(layers);
    return y;
  });
  return e;
}

std::vector<std::vector<double>> oracle_first_batch(const PreparedModel& m) {
  const graph::ForwardOptions fo{m.batch, NumericMode{}, m.spec.mc_dropout > 0, m.spec.seed};
  return graph::oracle_forward(m.net, m.batch_input(0), fo);
}

std::string xxh3_hex(const void* data, size_t bytes) {
  static const char zero = 0;
  const XXH128_hash_t h = XXH3_128bits(bytes ? data : &zero, bytes);
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

ResultRecord make_result(const PreparedModel& m, const DeviceTraits* t, const NumericMode& mode, const Execution& e,
                         bool layers, const std::string& variant) {
  ResultRecord r;
  r.tensors.push_back({"output", {m.count, m.classes}, e.outputs});
  auto& meta = r.metadata;
  meta = {{"format", "lockstep-result-1"},
          {"engine", "lockstep 0.1.0"},
          {"order", std::string(to_string(mode.order))},
          {"contract", std::string(to_string(mode.mac))},
          {"denormals", std::string(to_string(mode.denorm))},
          {"model", m.model_identity},
          {"weights", m.spec.weights},
          {"weights.xxh3_128", m.weights_hash},
          {"input.xxh3_128", m.input_hash},
          {"inputs", std::to_string(m.count)},
          {"preprocess", io::describe(m.steps)},
          {"dropout", m.spec.mc_dropout ? "mc seed=" + std::to_string(m.spec.seed) + " passes=" +
                                              std::to_string(e.passes) + " (output: the last pass)"
                                        : "off"},
          {"output.xxh3_128", xxh3_hex(e.outputs.data(), e.outputs.size() * 4)}};
  if (t) {
    meta["device.name"] = t->name;
    meta["device.vendor"] = t->vendor;
    meta["device.driver"] = t->driver_name + " " + t->driver_info;
    meta["device.uuid"] = hex(t->device_uuid);
    meta["device.subgroup_size"] = std::to_string(t->subgroup_size_measured);
  } else {
    meta["device.name"] = "CPU reference";
    meta["device.vendor"] = "lockstep";
    meta["device.driver"] = "canonical float32 (engine/reference)";
  }
  if (!variant.empty()) meta["variant"] = variant;
  if (layers)
    for (uint32_t li = 0; li < e.layers.size(); ++li) {
      const auto& l = m.net.layers[li];
      const std::string name = "layer." + std::to_string(li) + "." + l.name;
      r.tensors.push_back({name, {m.batch, l.out.c, l.out.h, l.out.w}, e.layers[li]});
      meta[name + ".xxh3_128"] = xxh3_hex(e.layers[li].data(), e.layers[li].size() * 4);
    }
  return r;
}

bool progress_enabled() { return ::isatty(STDERR_FILENO); }

void progress(const std::string& what) {
  if (progress_enabled()) std::fprintf(stderr, "\r\033[K%s", what.c_str());
}

void progress_done() {
  if (progress_enabled()) std::fprintf(stderr, "\r\033[K");
}

std::vector<uint32_t> select_devices(const Context& ctx, const std::string& spec) {
  if (spec.find(',') == std::string::npos) return ctx.select(spec);
  std::vector<uint32_t> out;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string part = spec.substr(start, comma - start);
    if (part.empty()) throw std::invalid_argument("--device '" + spec + "': an empty name in the list");
    for (uint32_t i : ctx.select(part)) out.push_back(i);
    start = comma + 1;
  }
  return out;
}

}  // namespace lockstep::cli
