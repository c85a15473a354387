#include "cmd_check.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "child_process.hpp"
#include "conformance/op_suite.hpp"
#include "io/file_util.hpp"
#include "report/compare.hpp"
#include "report/report.hpp"
#include "report/result_reader.hpp"
#include "vk/context.hpp"
#include "vk/device.hpp"
#include "vk/errors.hpp"

namespace lockstep::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string pad(std::string s, size_t w) {
  size_t cps = 0;
  for (unsigned char c : s) cps += (c & 0xc0) != 0x80;
  return cps >= w ? s : s + std::string(w - cps, ' ');
}
std::string rpad(const std::string& s, size_t w) { return s.size() >= w ? s : std::string(w - s.size(), ' ') + s; }

// "fixed/muladd/preserve" -> "fixed-muladd-preserve", for file names.
std::string mode_slug(const NumericMode& m) {
  std::string s = describe(m);
  std::replace(s.begin(), s.end(), '/', '-');
  return s;
}

NumericMode parse_mode(const std::string& s) {
  if (s == "free") return NumericMode{Order::Free, MacContract::MulAdd, DenormRule::Preserve};
  const auto a = s.find('/'), b = s.rfind('/');
  if (s.rfind("fixed/", 0) != 0 || a == b)
    throw std::invalid_argument("mode '" + s + "': expected free or fixed/CONTRACT/DENORMALS");
  return NumericMode{Order::Fixed, parse_contract(s.substr(a + 1, b - a - 1)), parse_denorm(s.substr(b + 1))};
}

std::vector<NumericMode> requested_modes(const CheckOptions& o) {
  if (o.order != "fixed" && o.order != "free" && o.order != "both")
    throw std::invalid_argument("--order '" + o.order + "' is not one of: fixed, free, both");
  std::vector<MacContract> macs;
  if (o.contract == "all") macs = {MacContract::MulAdd, MacContract::Fma};
  else macs = {parse_contract(o.contract)};
  std::vector<DenormRule> dens;
  if (o.denormals == "all") dens = {DenormRule::Preserve, DenormRule::Ftz};
  else dens = {parse_denorm(o.denormals)};
  std::vector<NumericMode> modes;
  if (o.order != "free")
    for (auto mac : macs)
      for (auto dn : dens) modes.push_back({Order::Fixed, mac, dn});
  if (o.order != "fixed") modes.push_back({Order::Free, MacContract::MulAdd, DenormRule::Preserve});
  return modes;
}

// ENV=VAL with a portable variable name.
std::pair<std::string, std::string> parse_variant(const std::string& v) {
  const auto eq = v.find('=');
  const std::string name = v.substr(0, eq);
  bool ok = eq != std::string::npos && !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
  for (unsigned char c : name) ok &= std::isalnum(c) || c == '_';
  if (!ok) throw std::invalid_argument("--variant '" + v + "': expected NAME=VALUE (an environment variable and its value)");
  return {name, v.substr(eq + 1)};
}

// ---- Runs ------------------------------------------------------------------------------

struct ModeRun {
  NumericMode mode;
  ResultRecord record;
  double compile_ms = 0, run_ms = 0;
};

// Test hook (tests/check): LOCKSTEP_TEST_FLIP_BIT=LAYER flips the lowest bit of element 0 of
// that layer's saved output in every result this process writes, as a faulty device would;
// the fingerprint is recomputed, so only the comparison can notice.
void apply_test_hook(ResultRecord& r) {
  const char* layer = std::getenv("LOCKSTEP_TEST_FLIP_BIT");
  if (!layer || !*layer) return;
  for (auto& t : r.tensors) {
    const auto li = report::layer_index(t.name);
    const bool match = t.name == layer || (li && t.name.substr(t.name.find('.', 6) + 1) == layer);
    if (!match || t.data.empty()) continue;
    t.data[0] = std::bit_cast<float>(std::bit_cast<uint32_t>(t.data[0]) ^ 1u);
    r.metadata[t.name + ".xxh3_128"] = xxh3_hex(t.data.data(), t.data.size() * 4);
  }
}

std::vector<ModeRun> run_modes(Device& device, const PreparedModel& m, const std::vector<NumericMode>& modes,
                               const std::string& variant) {
  std::vector<ModeRun> runs;
  for (const NumericMode& mode : modes) {
    ExecOptions eo;
    eo.mode = mode;
    eo.keep_layers = true;
    const Execution e = execute_on_device(device, m, eo);
    ModeRun r;
    r.mode = mode;
    r.compile_ms = e.compile_ms;
    r.run_ms = e.run_ms;
    r.record = make_result(m, &device.traits(), mode, e, true, variant);
    apply_test_hook(r.record);
    runs.push_back(std::move(r));
  }
  return runs;
}

report::ResultFile to_result_file(ResultRecord&& r, const std::string& name) {
  report::ResultFile f;
  f.path = name;
  f.metadata = std::move(r.metadata);
  for (auto& t : r.tensors) {
    report::Tensor x;
    x.name = t.name;
    x.shape = t.shape;
    x.data = std::move(t.data);
    x.xxh3_128 = f.metadata[t.name + ".xxh3_128"];
    f.tensors.push_back(std::move(x));
  }
  std::sort(f.tensors.begin(), f.tensors.end(),
            [](const report::Tensor& a, const report::Tensor& b) { return report::tensor_order(a.name, b.name); });
  return f;
}

// ---- The parent's view -----------------------------------------------------------------

struct Participant {
  bool reference = false;
  std::string name, driver, variant;
  uint32_t index = 0;     // device index in its process
  uint32_t subgroup = 0;
  std::map<std::string, std::string> refused;  // mode -> why
  struct Run {
    NumericMode mode;
    size_t file = 0;
    double compile_ms = 0, run_ms = 0;
  };
  std::vector<Run> runs;
  const Run* run(const NumericMode& m) const {
    for (const auto& r : runs)
      if (r.mode == m) return &r;
    return nullptr;
  }
};

std::string short_label(size_t k, const Participant& p) {
  return "#" + std::to_string(k) + " " + p.name + (p.variant.empty() ? "" : " [" + p.variant + "]");
}

// ---- Child side ---------------------------------------------------------------------------

json refusals_json(const DeviceTraits& t, const std::vector<NumericMode>& modes) {
  json r = json::object();
  for (const auto& m : modes) {
    const auto why = t.refusal(m);
    r[describe(m)] = why ? json(*why) : json(nullptr);
  }
  return r;
}

int child_main(const CheckOptions& o) {
  ContextOptions co;
  co.validation = o.validation;
  Context ctx(co);
  const std::vector<uint32_t> indices = select_devices(ctx, o.device);
  const fs::path dir = o.child_output;
  json manifest = {{"format", "lockstep-check-child-1"}, {"devices", json::array()}};
  if (o.child_modes == "probe") {
    // Traits and the modes each device refuses, for the parent to find the shared contracts.
    std::vector<NumericMode> all;
    for (auto mac : {MacContract::MulAdd, MacContract::Fma})
      for (auto dn : {DenormRule::Preserve, DenormRule::Ftz}) all.push_back({Order::Fixed, mac, dn});
    all.push_back({Order::Free, MacContract::MulAdd, DenormRule::Preserve});
    for (uint32_t i : indices) {
      Device d(ctx, i);
      const auto& t = d.traits();
      manifest["devices"].push_back({{"index", i},
                                     {"name", t.name},
                                     {"driver", t.driver_name + " " + t.driver_info},
                                     {"subgroup", t.subgroup_size_measured},
                                     {"refused", refusals_json(t, all)}});
    }
  } else {
    std::vector<NumericMode> modes;
    size_t start = 0;
    while (start < o.child_modes.size()) {
      const size_t comma = std::min(o.child_modes.find(',', start), o.child_modes.size());
      modes.push_back(parse_mode(o.child_modes.substr(start, comma - start)));
      start = comma + 1;
    }
    const PreparedModel m = prepare_model(o);
    const std::string variant = std::getenv("LOCKSTEP_CHECK_VARIANT") ? std::getenv("LOCKSTEP_CHECK_VARIANT") : "";
    // One thread and one queue per device, as in the parent.
    const size_t n = indices.size();
    std::vector<std::unique_ptr<Device>> devices(n);
    std::vector<std::vector<ModeRun>> runs(n);
    std::vector<std::exception_ptr> errors(n);
    std::vector<std::thread> threads;
    for (size_t k = 0; k < n; ++k)
      threads.emplace_back([&, k] {
        try {
          devices[k] = std::make_unique<Device>(ctx, indices[k]);
          runs[k] = run_modes(*devices[k], m, modes, variant);
        } catch (...) {
          errors[k] = std::current_exception();
        }
      });
    for (auto& t : threads) t.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    for (size_t k = 0; k < n; ++k) {
      const auto& t = devices[k]->traits();
      json dj = {{"index", indices[k]},
                 {"name", t.name},
                 {"driver", t.driver_name + " " + t.driver_info},
                 {"subgroup", t.subgroup_size_measured},
                 {"runs", json::array()}};
      for (auto& r : runs[k]) {
        const std::string file = "d" + std::to_string(k) + "." + mode_slug(r.mode) + ".safetensors";
        io::write_safetensors((dir / file).string(), r.record.tensors, r.record.metadata);
        dj["runs"].push_back(
            {{"mode", describe(r.mode)}, {"file", file}, {"compile_ms", r.compile_ms}, {"run_ms", r.run_ms}});
      }
      manifest["devices"].push_back(dj);
    }
  }
  io::write_file_atomically((dir / "manifest.json").string(), {manifest.dump(1)});
  if (ctx.validation_log().errors > 0) {
    std::fprintf(stderr, "lockstep: %u Vulkan validation error(s)\n", ctx.validation_log().errors.load());
    return 3;
  }
  return 0;
}

// The arguments that make a child build the same model and inputs.
std::vector<std::string> model_args(const CheckOptions& o, uint32_t batch) {
  std::vector<std::string> a = {"--model", o.model, "--layout", o.layout, "--weights", o.weights,
                                "--input-size", std::to_string(o.input_size), "--batch", std::to_string(batch)};
  auto opt = [&](const char* name, const std::string& v) {
    if (!v.empty()) a.insert(a.end(), {name, v});
  };
  opt("--preprocess", o.preprocess);
  opt("--resize", o.resize);
  opt("--channels", o.channels);
  opt("--normalize", o.normalize);
  opt("--inputs", o.inputs_dir);
  if (o.random_inputs) a.insert(a.end(), {"--random", std::to_string(o.random_inputs)});
  if (o.mc_dropout) a.insert(a.end(), {"--mc-dropout", std::to_string(o.mc_dropout)});
  a.insert(a.end(), {"--seed", std::to_string(o.seed)});
  if (!o.inputs.empty()) {
    a.push_back("--");
    a.insert(a.end(), o.inputs.begin(), o.inputs.end());
  }
  return a;
}

// ---- Report ------------------------------------------------------------------------------

struct OracleError {
  size_t file = 0;
  std::vector<std::pair<std::string, conformance::ErrorStats>> layers;  // tensor name, error
  std::optional<report::TopKAgreement> topk;  // the last layer's classes against the oracle's
};

struct Report {
  const PreparedModel* m = nullptr;
  std::vector<Participant> participants;
  std::vector<report::ResultFile> files;
  std::vector<NumericMode> requested, shared;
  std::map<std::string, std::vector<std::pair<size_t, std::string>>> not_shared;  // mode -> (participant, why)
  report::Comparison c;
  std::vector<OracleError> oracle;
  size_t canonical_file = 0;  // the reference's file the free pairs are measured against
  std::vector<size_t> free_pairs, reference_free_pairs, fixed_pairs;  // indices into c.pairs
  std::vector<size_t> file_participant;  // file -> participant
  double seconds = 0;
};

std::string layer_display(const std::string& tensor) {
  if (const auto li = report::layer_index(tensor)) return std::to_string(*li) + " " + tensor.substr(tensor.find('.', 6) + 1);
  return tensor;
}

std::string ulp_text(uint64_t u) { return u == UINT64_MAX ? "NaN" : std::to_string(u); }

std::string cell(const report::TensorComparison* t) {
  if (!t) return "-";
  if (t->identical()) return "0";
  return ulp_text(t->max_ulp) + " (" + fmt("%.3g%%", 100.0 * t->share()) + ")";
}

const report::TensorComparison* find_tensor(const report::PairComparison& p, const std::string& name) {
  for (const auto& t : p.tensors)
    if (t.name == name) return &t;
  return nullptr;
}

const conformance::ErrorStats* find_error(const Report& r, size_t file, const std::string& name) {
  for (const auto& o : r.oracle)
    if (o.file == file)
      for (const auto& [n, e] : o.layers)
        if (n == name) return &e;
  return nullptr;
}

std::string pair_name(const Report& r, const report::PairComparison& p) {
  return "#" + std::to_string(r.file_participant[p.a]) + "-#" + std::to_string(r.file_participant[p.b]);
}

std::string histogram_text(const report::TensorComparison& t) {
  std::string s;
  for (size_t k = 0; k < report::kUlpBuckets; ++k)
    s += (k ? " " : "") + std::string(report::kUlpBucketNames[k]) + ":" + std::to_string(t.ulp_histogram[k]);
  return s;
}

std::string render_text(const Report& r, bool details) {
  const PreparedModel& m = *r.m;
  std::string o;
  o += "lockstep check: " + m.model_name + " (" + models::layout_name(m.layout) + " layout) " + std::to_string(m.size) +
       "x" + std::to_string(m.size) + ", weights " + m.spec.weights + ", preprocess " + io::describe(m.steps) + ", " +
       std::to_string(m.count) + " input" + (m.count == 1 ? "" : "s") + ", batch " + std::to_string(m.batch) +
       (m.count > m.batch ? " (layers compared on the first batch, outputs on every input)" : "") + "\n\n";

  o += "participants\n";
  for (size_t k = 0; k < r.participants.size(); ++k) {
    const Participant& p = r.participants[k];
    std::string line = "  " + pad("#" + std::to_string(k), 4) + pad(p.name, 36);
    if (p.reference) {
      line += "canonical float32 (every shared fixed contract) and the float64 oracle";
    } else {
      line += pad("subgroup " + std::to_string(p.subgroup), 13) + pad(p.variant.empty() ? "device " + std::to_string(p.index) : p.variant, 34);
    }
    std::string times;
    for (const auto& run : p.runs)
      times += (times.empty() ? "" : ", ") + describe(run.mode) + " " + fmt("%.1f s", (run.compile_ms + run.run_ms) / 1000);
    o += line + (times.empty() ? "" : "\n      time: " + times) + "\n";
  }

  o += "\ncontracts\n";
  for (const auto& mode : r.requested) {
    const std::string name = describe(mode);
    const bool shared = std::find(r.shared.begin(), r.shared.end(), mode) != r.shared.end();
    if (shared) {
      o += "  " + pad(name, 24) + "run on every participant\n";
      continue;
    }
    std::string who;
    std::string why;
    for (const auto& [k, w] : r.not_shared.at(name)) {
      who += (who.empty() ? "#" : " #") + std::to_string(k);
      if (why.empty()) why = w;
    }
    o += "  " + pad(name, 24) + "not shared, not run: refused by " + who + " (" + why + ")\n";
  }

  o += "\nfixed order: every layer, bit for bit, against the CPU reference (#0)\n";
  bool any_fixed = false;
  for (const auto& mode : r.shared) {
    if (!mode.fixed()) continue;
    any_fixed = true;
    size_t identical = 0, total = 0, tensors = 0;
    std::optional<size_t> failing;
    uint64_t flips = 0, rows = 0;
    for (size_t pi : r.fixed_pairs) {
      const auto& p = r.c.pairs[pi];
      if (!(r.c.files[p.a].mode == mode)) continue;
      total++;
      tensors = std::max(tensors, p.tensors.size());
      if (p.identical()) identical++;
      else if (!failing) failing = pi;
      if (p.topk) {
        flips += p.topk->rows - p.topk->top1_agree;
        rows += p.topk->rows;
      }
    }
    std::string line = "  " + pad(describe(mode), 24);
    if (!failing) {
      line += "PASS  " + std::to_string(identical) + " of " + std::to_string(total) +
              " devices bit-identical to the reference in all " + std::to_string(tensors) + " tensors";
      line += "; top-1 flips: " + std::to_string(flips) + " of " + std::to_string(rows) + " (device, input) outputs";
      if (const auto* run = r.participants[0].run(mode))
        line += "; output fingerprint " + r.files[run->file].meta("output.xxh3_128");
    } else {
      const auto& p = r.c.pairs[*failing];
      const auto& t = p.tensors[*p.first_divergent];
      const auto& d = *t.first;
      std::string coords = "[";
      for (size_t k = 0; k < d.coords.size(); ++k) coords += (k ? ", " : "") + std::to_string(d.coords[k]);
      coords += "]";
      line += "FAIL  " + std::to_string(total - identical) + " of " + std::to_string(total) +
              " devices differ; first: " + r.c.files[p.b].label + " at layer '" + t.name + "' element " +
              std::to_string(d.index) + " " + coords + ": reference " + report::float_text(d.a) + " (" +
              report::hex_bits(d.a_bits) + "), device " + report::float_text(d.b) + " (" + report::hex_bits(d.b_bits) +
              "); " + std::to_string(t.differing) + " of " + std::to_string(t.elements) + " elements differ";
    }
    o += report::terminal_safe(line) + "\n";
  }
  if (!any_fixed) o += "  (no fixed-order contract was run)\n";

  // Free order: the per-layer table.
  const std::vector<size_t>& cols = !r.free_pairs.empty() ? r.free_pairs : r.reference_free_pairs;
  std::vector<size_t> free_files;
  for (const auto& p : r.participants)
    if (const auto* run = p.run({Order::Free, MacContract::MulAdd, DenormRule::Preserve})) free_files.push_back(run->file);
  if (!free_files.empty()) {
    o += "\nfree order: per layer and device pair, max ULP distance (share of elements that differ); error against "
         "the float64 oracle (relative RMS) of the fixed reference (#0) and of each device in free order\n";
    size_t wn = 12;
    for (const auto& name : r.c.tensor_names) wn = std::max(wn, layer_display(name).size() + 1);
    wn = std::min<size_t>(wn, 40);
    std::string head = "  " + pad("layer", wn) + rpad("elements", 10);
    for (size_t pi : cols) head += "  " + rpad(pair_name(r, r.c.pairs[pi]), 16);
    head += "  |" + rpad("f64 #0", 10);
    for (size_t f : free_files) head += rpad("#" + std::to_string(r.file_participant[f]), 10);
    o += head + "\n";
    for (const auto& name : r.c.tensor_names) {
      std::string row = "  " + pad(report::terminal_safe(layer_display(name)), wn);
      uint64_t elements = 0;
      for (const auto& f : r.files)
        if (const auto* t = f.find(name)) {
          elements = t->elements();
          break;
        }
      row += rpad(std::to_string(elements), 10);
      for (size_t pi : cols) row += "  " + rpad(cell(find_tensor(r.c.pairs[pi], name)), 16);
      row += "  |";
      const auto* e0 = find_error(r, r.canonical_file, name);
      row += rpad(e0 ? fmt("%.2e", e0->rel_rms) : "-", 10);
      for (size_t f : free_files) {
        const auto* e = find_error(r, f, name);
        row += rpad(e ? fmt("%.2e", e->rel_rms) : "-", 10);
      }
      o += row + "\n";
    }

    o += "\nfree order: per pair\n";
    std::vector<size_t> all = r.free_pairs;
    all.insert(all.end(), r.reference_free_pairs.begin(), r.reference_free_pairs.end());
    for (size_t pi : all) {
      const auto& p = r.c.pairs[pi];
      std::string line = "  " + pad(pair_name(r, p), 8);
      if (p.identical()) {
        line += "bit-identical in all " + std::to_string(p.tensors.size()) + " tensors";
      } else {
        size_t differ = 0;
        for (const auto& t : p.tensors) differ += !t.identical();
        const auto& t = p.tensors[*p.first_divergent];
        const auto& d = *t.first;
        line += std::to_string(differ) + " of " + std::to_string(p.tensors.size()) + " tensors differ, max " +
                ulp_text(p.max_ulp()) + " ULP; first divergent layer '" + t.name + "' element " +
                std::to_string(d.index) + ": " + report::float_text(d.a) + " (" + report::hex_bits(d.a_bits) + ") vs " +
                report::float_text(d.b) + " (" + report::hex_bits(d.b_bits) + ")";
      }
      o += report::terminal_safe(line) + "\n";
      if (const auto* out = find_tensor(p, "output"); out && !p.identical())
        o += "          output: " + std::to_string(out->differing) + " of " + std::to_string(out->elements) +
             " values differ, max " + ulp_text(out->max_ulp) + " ULP, max abs " + fmt("%.3g", out->max_abs) +
             ", max rel " + fmt("%.3g", out->max_rel) + "; ULP histogram " + histogram_text(*out) + "\n";
      if (p.topk && p.topk->rows)
        o += "          top-1 agree " + std::to_string(p.topk->top1_agree) + "/" + std::to_string(p.topk->rows) +
             " (flips " + fmt("%.2f%%", 100.0 * double(p.topk->rows - p.topk->top1_agree) / double(p.topk->rows)) +
             "), top-5 agree " + std::to_string(p.topk->top5_agree) + "/" + std::to_string(p.topk->rows) + "\n";
    }
    if (!r.free_pairs.empty() && m.count > 1) {
      uint64_t flips = 0, rows = 0;
      for (size_t pi : r.free_pairs)
        if (const auto& t = r.c.pairs[pi].topk) flips += t->rows - t->top1_agree, rows += t->rows;
      o += "\ntop-1 flip rate between devices in free order: " + std::to_string(flips) + " of " + std::to_string(rows) +
           " (input, pair) cases (" + fmt("%.3f%%", rows ? 100.0 * double(flips) / double(rows) : 0.0) + ") over " +
           std::to_string(m.count) + " inputs and " + std::to_string(r.free_pairs.size()) + " device pairs\n";
    }
  }

  o += "\nagainst the float64 oracle (the final layer, first batch)\n";
  for (const auto& e : r.oracle) {
    if (e.layers.empty()) continue;
    const auto& [name, s] = e.layers.back();
    std::string line = "  " + pad("#" + std::to_string(r.file_participant[e.file]) + " " + r.c.files[e.file].mode_name, 28) +
                       "max abs " + fmt("%.3g", s.max_abs) + ", relative RMS " + fmt("%.3g", s.rel_rms) + ", max " +
                       std::to_string(s.max_ulp) + " ULP";
    if (e.topk && e.topk->rows)
      line += "; top-1 agree " + std::to_string(e.topk->top1_agree) + "/" + std::to_string(e.topk->rows) +
              ", top-5 agree " + std::to_string(e.topk->top5_agree) + "/" + std::to_string(e.topk->rows);
    o += line + "\n";
  }
  if (details) o += "\n" + report::render_text(r.c);
  o += "\n" + report::terminal_safe(r.c.summary) + "\n";
  o += "time: " + fmt("%.1f s", r.seconds) + "\n";
  return o;
}

ordered_json stats_json(const conformance::ErrorStats& e) {
  return {{"max_abs", e.max_abs}, {"rel_rms", e.rel_rms}, {"max_ulp", e.max_ulp}, {"nonfinite_mismatch", e.nonfinite_mismatch}};
}

std::string render_json(const Report& r) {
  const PreparedModel& m = *r.m;
  ordered_json j;
  j["format"] = "lockstep-check-1";
  j["verdict"] = std::string(report::to_string(r.c.verdict));
  j["exit_code"] = r.c.exit_code();
  j["summary"] = r.c.summary;
  j["seconds"] = r.seconds;
  j["model"] = {{"name", m.model_name}, {"identity", m.model_identity}, {"weights", m.spec.weights},
                {"weights.xxh3_128", m.weights_hash}, {"preprocess", io::describe(m.steps)},
                {"input.xxh3_128", m.input_hash}, {"inputs", m.count}, {"batch", m.batch}};
  ordered_json ps = ordered_json::array();
  for (size_t k = 0; k < r.participants.size(); ++k) {
    const auto& p = r.participants[k];
    ordered_json pj = {{"index", k}, {"label", short_label(k, p)}, {"reference", p.reference}, {"name", p.name},
                       {"driver", p.driver}, {"variant", p.variant}, {"device_index", p.index},
                       {"subgroup", p.subgroup}, {"refused", p.refused}};
    ordered_json runs = ordered_json::array();
    for (const auto& run : p.runs)
      runs.push_back({{"mode", describe(run.mode)}, {"file", run.file}, {"compile_ms", run.compile_ms},
                      {"run_ms", run.run_ms}});
    pj["runs"] = runs;
    ps.push_back(pj);
  }
  j["participants"] = ps;
  std::vector<std::string> requested, shared;
  for (const auto& mode : r.requested) requested.push_back(describe(mode));
  for (const auto& mode : r.shared) shared.push_back(describe(mode));
  j["modes"] = {{"requested", requested}, {"shared", shared}};
  ordered_json ns = ordered_json::object();
  for (const auto& [mode, list] : r.not_shared) {
    ordered_json l = ordered_json::array();
    for (const auto& [k, why] : list) l.push_back({{"participant", k}, {"reason", why}});
    ns[mode] = l;
  }
  j["modes"]["not_shared"] = ns;
  auto pairs_json = [&](const std::vector<size_t>& list) {
    ordered_json a = ordered_json::array();
    for (size_t pi : list) {
      const auto& p = r.c.pairs[pi];
      a.push_back({{"pair", pi}, {"a", r.file_participant[p.a]}, {"b", r.file_participant[p.b]},
                   {"mode_a", r.c.files[p.a].mode_name}, {"mode_b", r.c.files[p.b].mode_name},
                   {"identical", p.identical()},
                   {"first_divergent_tensor", p.first_divergent ? ordered_json(p.tensors[*p.first_divergent].name)
                                                                : ordered_json(nullptr)},
                   {"top1_flips", p.topk ? ordered_json(p.topk->rows - p.topk->top1_agree) : ordered_json(nullptr)},
                   {"top5_changes", p.topk ? ordered_json(p.topk->rows - p.topk->top5_agree) : ordered_json(nullptr)},
                   {"rows", p.topk ? ordered_json(p.topk->rows) : ordered_json(nullptr)}});
    }
    return a;
  };
  j["fixed_pairs"] = pairs_json(r.fixed_pairs);
  j["free_pairs"] = pairs_json(r.free_pairs);
  j["reference_free_pairs"] = pairs_json(r.reference_free_pairs);
  ordered_json oj = ordered_json::array();
  for (const auto& e : r.oracle) {
    ordered_json layers = ordered_json::array();
    for (const auto& [name, s] : e.layers) {
      ordered_json l = stats_json(s);
      l["name"] = name;
      layers.push_back(l);
    }
    ordered_json ej = {{"file", e.file}, {"participant", r.file_participant[e.file]},
                       {"mode", r.c.files[e.file].mode_name}, {"layers", layers}};
    if (e.topk)
      ej["topk"] = {{"rows", e.topk->rows}, {"top1_agree", e.topk->top1_agree}, {"top5_agree", e.topk->top5_agree}};
    oj.push_back(ej);
  }
  j["oracle_error"] = oj;
  j["comparison"] = ordered_json::parse(report::render_json(r.c));
  return j.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

std::string render_html(const Report& r) {
  using report::html_escape;
  std::string h = "<h2>Check</h2>\n<table><thead><tr><th>#</th><th>participant</th><th>subgroup</th><th>variant</th>"
                  "<th>runs (compile + run time)</th></tr></thead><tbody>\n";
  for (size_t k = 0; k < r.participants.size(); ++k) {
    const auto& p = r.participants[k];
    std::string runs;
    for (const auto& run : p.runs)
      runs += (runs.empty() ? "" : ", ") + describe(run.mode) + " " + fmt("%.1f s", (run.compile_ms + run.run_ms) / 1000);
    h += "<tr><td>#" + std::to_string(k) + "</td><td>" + html_escape(p.name) + "</td><td class=\"num\">" +
         (p.reference ? std::string("—") : std::to_string(p.subgroup)) + "</td><td class=\"code\">" +
         html_escape(p.variant) + "</td><td>" + html_escape(runs) + "</td></tr>\n";
  }
  h += "</tbody></table>\n<p>Contracts run: ";
  for (size_t k = 0; k < r.shared.size(); ++k) h += (k ? ", " : "") + html_escape(describe(r.shared[k]));
  h += ".";
  for (const auto& [mode, list] : r.not_shared)
    h += " Not shared: " + html_escape(mode) + " (" + html_escape(list.front().second) + ").";
  h += "</p>\n";
  std::vector<size_t> free_files;
  for (const auto& p : r.participants)
    if (const auto* run = p.run({Order::Free, MacContract::MulAdd, DenormRule::Preserve})) free_files.push_back(run->file);
  h += "<h3>Against the float64 oracle (final layer, first batch)</h3>\n<table><thead><tr><th>result</th><th>max abs</th>"
       "<th>relative RMS</th><th>max ULP</th><th>top-1 agree</th><th>top-5 agree</th></tr></thead><tbody>\n";
  for (const auto& e : r.oracle) {
    if (e.layers.empty()) continue;
    const auto& s = e.layers.back().second;
    const bool k = e.topk && e.topk->rows;
    h += "<tr><td>#" + std::to_string(r.file_participant[e.file]) + " " + html_escape(r.c.files[e.file].mode_name) +
         "</td><td class=\"num\">" + fmt("%.3g", s.max_abs) + "</td><td class=\"num\">" + fmt("%.3g", s.rel_rms) +
         "</td><td class=\"num\">" + std::to_string(s.max_ulp) + "</td><td class=\"num\">" +
         (k ? std::to_string(e.topk->top1_agree) + "/" + std::to_string(e.topk->rows) : "-") + "</td><td class=\"num\">" +
         (k ? std::to_string(e.topk->top5_agree) + "/" + std::to_string(e.topk->rows) : "-") + "</td></tr>\n";
  }
  h += "</tbody></table>\n";
  if (!free_files.empty()) {
    h += "<details><summary>Error against the float64 oracle (relative RMS), every layer</summary>\n"
         "<div class=\"scroll\"><table><thead><tr><th>layer</th><th>#0 fixed</th>";
    for (size_t f : free_files) h += "<th>#" + std::to_string(r.file_participant[f]) + " free</th>";
    h += "</tr></thead><tbody>\n";
    for (const auto& name : r.c.tensor_names) {
      const auto* e0 = find_error(r, r.canonical_file, name);
      if (!e0) continue;
      h += "<tr><td class=\"name\">" + html_escape(name) + "</td><td class=\"num\">" + fmt("%.2e", e0->rel_rms) + "</td>";
      for (size_t f : free_files) {
        const auto* e = find_error(r, f, name);
        h += "<td class=\"num\">" + (e ? fmt("%.2e", e->rel_rms) : "-") + "</td>";
      }
      h += "</tr>\n";
    }
    h += "</tbody></table></div></details>\n";
  }
  report::HtmlPage page;
  page.title = "lockstep check";
  page.intro_html = h;
  return report::render_html(r.c, page);
}

// ---- Parent ------------------------------------------------------------------------------

struct ReferenceJob {
  NumericMode mode;
  std::optional<ResultRecord> record;
  double run_ms = 0;
};

int check_parent(const CheckOptions& o) {
  const auto t_start = Clock::now();
  Report r;
  r.requested = requested_modes(o);
  progress("building " + o.model + " and its weights ...");
  const PreparedModel m = prepare_model(o, 8);
  progress_done();
  r.m = &m;

  r.participants.push_back(Participant{});
  r.participants[0].reference = true;
  r.participants[0].name = "CPU reference";
  r.participants[0].driver = "canonical float32 (engine/reference)";

  // Devices: in this process, or in child processes under each variant.
  std::vector<std::pair<std::string, std::string>> variants;
  for (const auto& v : o.variants) variants.push_back(parse_variant(v));
  std::unique_ptr<Context> ctx;
  std::vector<std::unique_ptr<Device>> devices;  // in-process, by participant index - 1
  std::optional<fs::path> scratch;
  struct ScratchGuard {
    std::optional<fs::path>& p;
    ~ScratchGuard() {
      std::error_code ec;
      if (p) fs::remove_all(*p, ec);
    }
  } guard{scratch};
  const auto timeout = std::chrono::seconds(o.child_timeout_s);
  std::vector<size_t> variant_of;  // participant -> variant index (with variants)

  auto child_spec = [&](size_t v, const std::string& modes, const std::string& tag) {
    const fs::path dir = *scratch / ("v" + std::to_string(v) + "." + tag);
    fs::create_directories(dir);
    ChildSpec s;
    s.argv = {self_executable(), "check", "--device", o.device, "--child-output", dir.string(), "--child-modes", modes};
    if (o.validation) s.argv.push_back("--validation");
    if (modes != "probe") {
      const auto a = model_args(o, m.batch);
      s.argv.insert(s.argv.end(), a.begin(), a.end());
    }
    s.env = {variants[v], {"LOCKSTEP_CHECK_VARIANT", o.variants[v]}};
    s.log_path = (dir / "log.txt").string();
    return s;
  };
  auto child_failure = [&](size_t v, const ChildOutcome& out, const char* what) {
    std::string tail = out.log_tail;
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
    return std::runtime_error("variant " + o.variants[v] + ": the child process (" + what + ") " + out.describe(timeout) +
                              (tail.empty() ? std::string() : "; its output ends with:\n" + tail));
  };

  if (variants.empty()) {
    ContextOptions co;
    co.validation = o.validation;
    ctx = std::make_unique<Context>(co);
    const auto indices = select_devices(*ctx, o.device);
    devices.resize(indices.size());
    std::vector<std::exception_ptr> errors(indices.size());
    std::vector<std::thread> threads;
    progress("probing " + std::to_string(indices.size()) + " device(s) ...");
    for (size_t k = 0; k < indices.size(); ++k)
      threads.emplace_back([&, k] {
        try {
          devices[k] = std::make_unique<Device>(*ctx, indices[k]);
        } catch (...) {
          errors[k] = std::current_exception();
        }
      });
    for (auto& t : threads) t.join();
    progress_done();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    for (size_t k = 0; k < indices.size(); ++k) {
      const auto& t = devices[k]->traits();
      Participant p;
      p.name = t.name;
      p.driver = t.driver_name + " " + t.driver_info;
      p.index = indices[k];
      p.subgroup = t.subgroup_size_measured;
      for (const auto& mode : r.requested)
        if (auto why = t.refusal(mode)) p.refused[describe(mode)] = *why;
      r.participants.push_back(p);
    }
  } else {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = (base && *base ? std::string(base) : std::string("/tmp")) + "/lockstep-check-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) throw std::runtime_error(pattern + ": cannot create a scratch directory");
    scratch = fs::path(buf.data());
    std::vector<ChildSpec> probes;
    for (size_t v = 0; v < variants.size(); ++v) probes.push_back(child_spec(v, "probe", "probe"));
    progress("probing the devices of " + std::to_string(variants.size()) + " variants ...");
    const auto outcomes = run_children(probes, o.jobs, timeout);
    progress_done();
    for (size_t v = 0; v < variants.size(); ++v) {
      if (!outcomes[v].ok()) throw child_failure(v, outcomes[v], "probing the devices");
      const fs::path manifest = fs::path(probes[v].log_path).parent_path() / "manifest.json";
      const json j = json::parse(std::ifstream(manifest));
      if (j["devices"].empty()) throw std::runtime_error("variant " + o.variants[v] + ": no device");
      for (const auto& d : j["devices"]) {
        Participant p;
        p.name = d["name"];
        p.driver = d["driver"];
        p.index = d["index"];
        p.subgroup = d["subgroup"];
        p.variant = o.variants[v];
        for (const auto& mode : r.requested) {
          const auto& why = d["refused"][describe(mode)];
          if (!why.is_null()) p.refused[describe(mode)] = why.get<std::string>();
        }
        r.participants.push_back(p);
        variant_of.push_back(v);
      }
    }
  }

  // The modes every device accepts.
  for (const auto& mode : r.requested) {
    bool all = true;
    for (size_t k = 1; k < r.participants.size(); ++k) {
      const auto it = r.participants[k].refused.find(describe(mode));
      if (it != r.participants[k].refused.end()) {
        all = false;
        r.not_shared[describe(mode)].push_back({k, it->second});
      }
    }
    if (all) r.shared.push_back(mode);
  }
  std::string modes_arg;
  for (const auto& mode : r.shared) modes_arg += (modes_arg.empty() ? "" : ",") + describe(mode);
  if (r.shared.empty()) throw std::runtime_error("no requested mode runs on every device (see `lockstep devices`)");

  // The reference (one thread per fixed mode, and one for the oracle), beside the devices.
  std::vector<ReferenceJob> ref_jobs;
  for (const auto& mode : r.shared)
    if (mode.fixed()) ref_jobs.push_back({mode, std::nullopt, 0});
  std::vector<std::vector<double>> oracle;
  std::vector<std::exception_ptr> ref_errors(ref_jobs.size() + 1);
  std::vector<std::thread> ref_threads;
  for (size_t k = 0; k < ref_jobs.size(); ++k)
    ref_threads.emplace_back([&, k] {
      try {
        ExecOptions eo;
        eo.mode = ref_jobs[k].mode;
        eo.keep_layers = true;
        const Execution e = execute_reference(m, eo);
        ref_jobs[k].run_ms = e.run_ms;
        ref_jobs[k].record = make_result(m, nullptr, ref_jobs[k].mode, e, true);
      } catch (...) {
        ref_errors[k] = std::current_exception();
      }
    });
  ref_threads.emplace_back([&] {
    try {
      oracle = oracle_first_batch(m);
    } catch (...) {
      ref_errors.back() = std::current_exception();
    }
  });

  // The devices: one thread and one queue each, or one child process per variant.
  std::vector<std::vector<ModeRun>> device_runs(r.participants.size());
  std::exception_ptr device_error;
  if (variants.empty()) {
    progress("running " + std::to_string(devices.size()) + " device(s) and the CPU reference ...");
    std::vector<std::exception_ptr> errors(devices.size());
    std::vector<std::thread> threads;
    for (size_t k = 0; k < devices.size(); ++k)
      threads.emplace_back([&, k] {
        try {
          device_runs[k + 1] = run_modes(*devices[k], m, r.shared, "");
        } catch (...) {
          errors[k] = std::current_exception();
        }
      });
    for (auto& t : threads) t.join();
    for (auto& e : errors)
      if (e && !device_error) device_error = e;
  } else {
    std::vector<ChildSpec> specs;
    for (size_t v = 0; v < variants.size(); ++v) specs.push_back(child_spec(v, modes_arg, "run"));
    progress("running " + std::to_string(variants.size()) + " variants and the CPU reference ...");
    const auto outcomes = run_children(specs, o.jobs, timeout);
    try {
      for (size_t v = 0; v < variants.size(); ++v) {
        if (!outcomes[v].ok()) throw child_failure(v, outcomes[v], "running the model");
        const fs::path dir = fs::path(specs[v].log_path).parent_path();
        const json j = json::parse(std::ifstream(dir / "manifest.json"));
        size_t d = 0;
        for (size_t k = 1; k < r.participants.size(); ++k) {
          if (variant_of[k - 1] != v) continue;
          if (d >= j["devices"].size())
            throw std::runtime_error("variant " + o.variants[v] + ": the child ran fewer devices than it probed");
          for (const auto& run : j["devices"][d]["runs"]) {
            report::ResultFile f = report::read_result_file((dir / run["file"].get<std::string>()).string());
            ModeRun mr;
            mr.mode = f.mode();
            mr.compile_ms = run["compile_ms"];
            mr.run_ms = run["run_ms"];
            // Back to a record: the parent treats both kinds of device alike.
            mr.record.metadata = f.metadata;
            for (auto& t : f.tensors) mr.record.tensors.push_back({t.name, t.shape, std::move(t.data)});
            device_runs[k].push_back(std::move(mr));
          }
          d++;
        }
      }
    } catch (...) {
      device_error = std::current_exception();
    }
  }
  for (auto& t : ref_threads) t.join();
  progress_done();
  if (device_error) std::rethrow_exception(device_error);
  for (auto& e : ref_errors)
    if (e) std::rethrow_exception(e);

  // Every result as a file of the comparison: the reference's first, then each device's.
  std::vector<std::string> labels;
  auto add_file = [&](size_t participant, const NumericMode& mode, ResultRecord&& rec, double compile_ms,
                      double run_ms) {
    const std::string label = short_label(participant, r.participants[participant]) + " " + describe(mode);
    if (!o.save_dir.empty()) {
      fs::create_directories(o.save_dir);
      const std::string file = (fs::path(o.save_dir) / ("p" + std::to_string(participant) + "." + mode_slug(mode) +
                                                        ".safetensors")).string();
      io::write_safetensors(file, rec.tensors, rec.metadata);
    }
    r.participants[participant].runs.push_back({mode, r.files.size(), compile_ms, run_ms});
    r.files.push_back(to_result_file(std::move(rec), label));
    r.file_participant.push_back(participant);
    labels.push_back(label);
  };
  for (auto& job : ref_jobs) add_file(0, job.mode, std::move(*job.record), 0, job.run_ms);
  for (size_t k = 1; k < r.participants.size(); ++k)
    for (auto& run : device_runs[k]) add_file(k, run.mode, std::move(run.record), run.compile_ms, run.run_ms);

  // The pairs: fixed, each device against the reference under the same contract; free, every
  // pair of devices, then each device against the reference's canonical result.
  report::CompareSettings settings;
  settings.labels = labels;
  std::vector<char> kind;  // 'x' fixed, 'f' free device pair, 'r' reference vs free
  const Participant& ref = r.participants[0];
  // The file of participant k's result in `mode` (every participant ran every shared mode).
  auto file_of = [&](size_t k, const NumericMode& mode) {
    const auto* run = r.participants[k].run(mode);
    if (!run)
      throw std::runtime_error(short_label(k, r.participants[k]) + " has no result in " + describe(mode) +
                               " (its child process wrote none)");
    return run->file;
  };
  for (const auto& mode : r.shared) {
    if (!mode.fixed()) continue;
    const size_t a = file_of(0, mode);
    for (size_t k = 1; k < r.participants.size(); ++k)
      settings.pairs.emplace_back(a, file_of(k, mode)), kind.push_back('x');
  }
  const NumericMode free_mode{Order::Free, MacContract::MulAdd, DenormRule::Preserve};
  const bool has_free = std::find(r.shared.begin(), r.shared.end(), free_mode) != r.shared.end();
  r.canonical_file = ref.runs.empty() ? 0 : ref.runs.front().file;
  if (has_free) {
    for (size_t a = 1; a < r.participants.size(); ++a)
      for (size_t b = a + 1; b < r.participants.size(); ++b)
        settings.pairs.emplace_back(file_of(a, free_mode), file_of(b, free_mode)),
            kind.push_back('f');
    if (!ref.runs.empty())
      for (size_t k = 1; k < r.participants.size(); ++k)
        settings.pairs.emplace_back(r.canonical_file, file_of(k, free_mode)), kind.push_back('r');
  }
  if (settings.pairs.empty())
    throw std::invalid_argument("nothing to compare: free order on a single device (add devices, --variant, or the "
                                "fixed order)");
  r.c = report::compare_results(r.files, settings);
  for (size_t pi = 0; pi < kind.size(); ++pi)
    (kind[pi] == 'x' ? r.fixed_pairs : kind[pi] == 'f' ? r.free_pairs : r.reference_free_pairs).push_back(pi);

  // Error against the float64 oracle, per layer (first batch): the reference's results, and
  // every device's free-order result (fixed-order device results equal the reference's).
  for (size_t f = 0; f < r.files.size(); ++f) {
    const bool is_ref = r.file_participant[f] == 0;
    if (!is_ref && r.files[f].mode().fixed()) continue;
    OracleError e;
    e.file = f;
    for (const auto& t : r.files[f].tensors) {
      const auto li = report::layer_index(t.name);
      if (!li || *li >= oracle.size() || oracle[*li].size() != t.data.size()) continue;
      e.layers.emplace_back(t.name, conformance::error_against(t.data, oracle[*li]));
      if (*li + 1 == oracle.size()) {
        report::Tensor o64{t.name, t.shape, std::vector<float>(oracle[*li].begin(), oracle[*li].end()), ""};
        e.topk = report::compare_topk(t, o64);
      }
    }
    r.oracle.push_back(std::move(e));
  }
  r.seconds = seconds_since(t_start);

  if (!o.json.empty()) {
    const std::string j = render_json(r);
    if (o.json == "-") std::fwrite(j.data(), 1, j.size(), stdout);
    else io::write_file_atomically(o.json, {j});
  }
  if (!o.html.empty()) io::write_file_atomically(o.html, {render_html(r)});
  if (o.json != "-") {
    const std::string t = render_text(r, o.details);
    std::fwrite(t.data(), 1, t.size(), stdout);
    if (!o.json.empty()) std::printf("wrote %s\n", o.json.c_str());
    if (!o.html.empty()) std::printf("wrote %s\n", o.html.c_str());
    if (!o.save_dir.empty()) std::printf("result files in %s\n", o.save_dir.c_str());
  }
  std::fflush(stdout);
  if (ctx && ctx->validation_log().errors > 0) {
    std::fprintf(stderr, "lockstep: %u Vulkan validation error(s)\n", ctx->validation_log().errors.load());
    return r.c.exit_code() ? r.c.exit_code() : 3;
  }
  return r.c.exit_code();
}

}  // namespace

void add_check_options(CLI::App& c, CheckOptions& o) {
  add_model_options(c, o);
  c.add_option("--variant", o.variants,
               "ENV=VAL: run the devices in a child process with this environment (repeat for a matrix, e.g. "
               "LP_NATIVE_VECTOR_WIDTH=128 and =512, or VK_DRIVER_FILES=...)");
  c.add_option("--order", o.order, "fixed, free or both")->capture_default_str();
  c.add_option("--contract", o.contract, "fixed-order MAC contracts: muladd, fma or all")->capture_default_str();
  c.add_option("--denormals", o.denormals, "fixed-order denormal rules: preserve, ftz or all")->capture_default_str();
  c.add_option("--json", o.json, "write the report as JSON to FILE ('-': to stdout, instead of the table)");
  c.add_option("--html", o.html, "write a self-contained HTML report to FILE");
  c.add_option("--save-dir", o.save_dir, "write every result file (reference and devices) into DIR");
  c.add_flag("--details", o.details, "also print every pair's full per-layer table");
  c.add_option("--child-timeout", o.child_timeout_s, "seconds a variant's child process may run")->capture_default_str();
  c.add_option("--jobs", o.jobs, "variant child processes at once (0: all; CPU drivers share the cores)")
      ->capture_default_str();
  c.add_option("--child-output", o.child_output, "internal: run as a variant's child, results into DIR")->group("");
  c.add_option("--child-modes", o.child_modes, "internal: the modes a child runs")->group("");
}

int check(const CheckOptions& o) {
  try {
    if (!o.child_output.empty()) return child_main(o);
    return check_parent(o);
  } catch (const std::exception& e) {
    progress_done();
    // Line by line: a child's output may follow the message.
    const std::string msg = vk_errors::describe(e);
    size_t start = 0;
    bool first = true;
    while (start <= msg.size()) {
      const size_t nl = std::min(msg.find('\n', start), msg.size());
      const std::string line = report::terminal_safe(msg.substr(start, nl - start));
      std::fprintf(stderr, first ? "lockstep check: error: %s\n" : "  %s\n", line.c_str());
      first = false;
      start = nl + 1;
    }
    return 2;
  }
}

}  // namespace lockstep::cli
