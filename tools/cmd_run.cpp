#include "cmd_run.hpp"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>

#include "conformance/op_suite.hpp"
#include "graph/reference_forward.hpp"
#include "io/result_file.hpp"
#include "model_session.hpp"
#include "vk/device.hpp"
#ifdef LOCKSTEP_HAVE_ONNX
#include "onnx/onnx_export.hpp"
#endif
#ifdef LOCKSTEP_HAVE_KERAS
#include "keras/keras_h5.hpp"
#endif

namespace lockstep::cli {

namespace {

void appendf(std::string& out, const char* format, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string& out, const char* format, ...) {
  char buf[1024];
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  if (n < 0) return;
  if (size_t(n) < sizeof buf) {
    out.append(buf, size_t(n));
    return;
  }
  std::string big(size_t(n) + 1, '\0');
  va_start(args, format);
  std::vsnprintf(big.data(), big.size(), format, args);
  va_end(args);
  out.append(big.data(), size_t(n));
}

void print_top(std::string& out, const float* probs, size_t classes, uint32_t top,
               const std::vector<std::string>& labels, const double* stddev = nullptr) {
  std::vector<uint32_t> idx(classes);
  for (uint32_t i = 0; i < classes; ++i) idx[i] = i;
  const uint32_t k = std::min<uint32_t>(top, static_cast<uint32_t>(classes));
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](uint32_t a, uint32_t b) {
    return probs[a] > probs[b] || (probs[a] == probs[b] && a < b);
  });
  for (uint32_t r = 0; r < k; ++r) {
    const uint32_t c = idx[r];
    const std::string label = c < labels.size() ? labels[c] : "class " + std::to_string(c);
    if (stddev)
      appendf(out, "    %u. %.6f ± %.6f  %s (%u)\n", r + 1, probs[c], stddev[c], label.c_str(), c);
    else
      appendf(out, "    %u. %.6f  %s (%u)\n", r + 1, probs[c], label.c_str(), c);
  }
}

// "out.safetensors" -> "out.device1.safetensors" when several devices save.
std::string numbered_path(const std::string& path, const std::string& suffix) {
  const auto dot = path.rfind('.');
  const auto slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return path + suffix;
  return path.substr(0, dot) + suffix + path.substr(dot);
}

// One run's report: what it printed, its exit status.
struct RunReport {
  std::string text;
  int rc = 0;
};

// Prints one execution (on `t`, or the CPU reference when t is null), checks it against the
// reference's layers when given (fixed order, bit for bit) or the oracle (free order), saves it.
RunReport report_one(const PreparedModel& m, const RunOptions& o, const NumericMode& mode, const DeviceTraits* t,
                     const std::string& who, const Execution& e, const std::vector<std::vector<float>>* reference,
                     const std::string& save_path) {
  RunReport report;
  std::string& out = report.text;
  if (t)
    appendf(out, "%s: %s (%s), subgroup %u — ", who.c_str(), t->name.c_str(), t->driver_name.c_str(),
            t->subgroup_size_measured);
  else
    appendf(out, "%s (canonical float32) — ", who.c_str());
  const std::string pp = io::describe(m.steps);
  appendf(out, "%s, %s, %s %ux%u, batch %u, weights %s%s\n", describe(mode).c_str(), m.model_name.c_str(),
          models::layout_name(m.layout), m.size, m.size, m.batch, o.weights.c_str(),
          pp == io::preprocess_name(m.preset) ? "" : (", preprocess " + pp).c_str());

  for (uint32_t i = 0; i < m.count; ++i) {
    appendf(out, "  %s\n", m.input_names[i].c_str());
    const uint64_t row = uint64_t(i) * m.classes;
    if (e.passes > 1) {
      std::vector<float> mf(m.classes);
      std::vector<double> sd(m.classes);
      for (size_t c = 0; c < m.classes; ++c) {
        mf[c] = static_cast<float>(e.mean[row + c]);
        sd[c] = std::sqrt(e.m2[row + c] / e.passes);
      }
      print_top(out, mf.data(), m.classes, o.top, m.labels, sd.data());
    } else {
      print_top(out, e.outputs.data() + row, m.classes, o.top, m.labels);
    }
  }
  if (t)
    appendf(out,
            "  time: compile %.0f ms, run %.0f ms (%u pass%s of %u input%s, transfers included); device memory: "
            "weights %.1f MiB, activations %.1f MiB\n",
            e.compile_ms, e.run_ms, e.passes, e.passes > 1 ? "es" : "", m.count, m.count > 1 ? "s" : "",
            e.weight_bytes / 1048576.0, e.activation_bytes / 1048576.0);
  else
    appendf(out, "  time: %.0f ms (%u pass%s of %u input%s)\n", e.run_ms, e.passes, e.passes > 1 ? "es" : "", m.count,
            m.count > 1 ? "s" : "");
  if (!e.timings.empty()) {
    double total = 0.0;
    for (const auto& d : e.timings) total += d.ms;
    appendf(out, "  GPU time per dispatch (last run, timestamps): %.1f ms in %zu dispatches\n", total, e.timings.size());
    for (const auto& d : e.timings) appendf(out, "    %9.2f ms  %5.1f%%  %s\n", d.ms, 100.0 * d.ms / total, d.label.c_str());
  }
  if (o.fingerprint)
    appendf(out, "  fingerprint (XXH3-128 of the %s output%s): %s\n", describe(mode).c_str(),
            e.passes > 1 ? " of the last pass" : "", xxh3_hex(e.outputs.data(), e.outputs.size() * 4).c_str());

  if (o.check && t) {
    if (mode.fixed()) {
      const auto& ref = *reference;
      uint32_t exact = 0;
      for (uint32_t li = 0; li < m.net.layers.size(); ++li) {
        const auto& a = e.layers[li];
        if (a.size() == ref[li].size() && std::memcmp(a.data(), ref[li].data(), a.size() * 4) == 0) {
          exact++;
          continue;
        }
        size_t k = 0;
        while (k + 1 < std::min(a.size(), ref[li].size()) && std::memcmp(&a[k], &ref[li][k], 4) == 0) ++k;
        uint32_t ab = 0, rb = 0;
        std::memcpy(&ab, &a[k], 4);
        std::memcpy(&rb, &ref[li][k], 4);
        appendf(out,
                "  check: layer %u '%s' differs from the CPU reference first at element %zu: device %.9g (0x%08x), "
                "reference %.9g (0x%08x)\n",
                li, m.net.layers[li].name.c_str(), k, a[k], ab, ref[li][k], rb);
        report.rc = 1;
        break;
      }
      if (exact == m.net.layers.size())
        appendf(out, "  check: all %u layers bit-identical to the CPU reference (%s)\n", exact, describe(mode).c_str());
    } else {
      const auto oracle = oracle_first_batch(m);
      const auto err = conformance::error_against(e.layers.back(), oracle.back());
      appendf(out, "  check: free order vs float64 oracle: max abs %.3g, relative RMS %.3g, max %llu ulp\n", err.max_abs,
              err.rel_rms, static_cast<unsigned long long>(err.max_ulp));
    }
  }

  if (!save_path.empty()) {
    const ResultRecord r = make_result(m, t, mode, e, o.layers);
    io::write_safetensors(save_path, r.tensors, r.metadata);
    appendf(out, "  saved %s\n", save_path.c_str());
  }
  return report;
}

}  // namespace

int run(Context* ctx, const RunOptions& o) {
  const NumericMode mode{parse_order(o.order), parse_contract(o.contract), parse_denorm(o.denormals)};
  if (o.top == 0) throw std::invalid_argument("--top 0: expected >= 1");
  if (o.reference && !mode.fixed()) throw std::invalid_argument("--reference: the CPU reference runs the fixed order only");

  progress("building " + o.model + " and its weights ...");
  const PreparedModel m = prepare_model(o);
  progress_done();

  ExecOptions eo;
  eo.mode = mode;
  eo.keep_layers = o.layers || o.check;
  eo.profile = o.profile;

  if (o.reference) {
    eo.progress = [](const std::string& s) { progress("CPU reference: " + s); };
    const Execution e = execute_reference(m, eo);
    progress_done();
    const RunReport r = report_one(m, o, mode, nullptr, "CPU reference", e, nullptr, o.save);
    std::fwrite(r.text.data(), 1, r.text.size(), stdout);
    return r.rc;
  }
  if (!ctx) throw std::logic_error("run: no Vulkan context");

  const std::vector<uint32_t> indices = select_devices(*ctx, o.device);
  const size_t n = indices.size();

  // The CPU reference for --check in fixed order (the first batch, the first pass's seed),
  // computed once, beside the devices.
  std::vector<std::vector<float>> reference;
  std::exception_ptr reference_error;
  std::thread reference_thread;
  if (o.check && mode.fixed())
    reference_thread = std::thread([&] {
      try {
        const graph::ForwardOptions fo{m.batch, mode, o.mc_dropout > 0, o.seed};
        reference = graph::reference_forward(m.net, m.batch_input(0), fo);
      } catch (...) {
        reference_error = std::current_exception();
      }
    });

  // One thread, one logical device and one queue per selected device; each thread writes only
  // its own slots. Progress lines only with a single device (they would interleave).
  std::vector<std::unique_ptr<Device>> devices(n);
  std::vector<Execution> executions(n);
  std::vector<std::exception_ptr> errors(n);
  auto work = [&](size_t k) {
    try {
      const std::string who = "device " + std::to_string(indices[k]);
      if (n == 1) progress(who + ": probing ...");
      devices[k] = std::make_unique<Device>(*ctx, indices[k]);
      ExecOptions mine = eo;
      if (n == 1) mine.progress = [who](const std::string& s) { progress(who + ": " + s); };
      executions[k] = execute_on_device(*devices[k], m, mine);
      if (n == 1) progress_done();
    } catch (...) {
      errors[k] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (size_t k = 0; k < n; ++k) threads.emplace_back(work, k);
  for (auto& th : threads) th.join();
  if (reference_thread.joinable()) reference_thread.join();
  if (n == 1) progress_done();
  for (size_t k = 0; k < n; ++k)
    if (errors[k]) std::rethrow_exception(errors[k]);
  if (reference_error) std::rethrow_exception(reference_error);

  // Reports in device order. Save paths: one per device, numbered by device index (and by
  // position, for a device named twice).
  int rc = 0;
  for (size_t k = 0; k < n; ++k) {
    std::string path = o.save;
    if (!path.empty() && n > 1) {
      const bool twice = std::count(indices.begin(), indices.end(), indices[k]) > 1;
      path = numbered_path(o.save, ".device" + std::to_string(indices[k]) + (twice ? "-" + std::to_string(k) : ""));
    }
    const RunReport r = report_one(m, o, mode, &devices[k]->traits(), "device " + std::to_string(indices[k]),
                                   executions[k], &reference, path);
    std::fwrite(r.text.data(), 1, r.text.size(), stdout);
    rc = std::max(rc, r.rc);
  }
  std::fflush(stdout);
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
