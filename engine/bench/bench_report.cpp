#include "bench/bench_report.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "io/file_util.hpp"
#include "vk/pipeline_cache_file.hpp"

namespace lockstep::bench {

using nlohmann::json;

namespace {

json stats_json(const Stats& s) { return {{"min", s.min}, {"median", s.median}, {"max", s.max}}; }
json opt_stats_json(const std::optional<Stats>& s) { return s ? stats_json(*s) : json(nullptr); }

std::string fmt(const char* f, double v) {
  char b[256];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

double get_number(const json& j, const char* key, const std::string& origin) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number())
    throw std::invalid_argument(origin + ": field '" + key + "' is missing or not a number");
  return j[key].get<double>();
}

std::string get_string(const json& j, const char* key, const std::string& origin) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string())
    throw std::invalid_argument(origin + ": field '" + key + "' is missing or not a string");
  return j[key].get<std::string>();
}

// The fields that identify the device a peak was measured on.
bool same_device(const json& d, const DeviceTraits& t) {
  return d.is_object() && d.value("name", "") == t.name && d.value("driver_version", 0u) == t.driver_version &&
         d.value("device_uuid", "") == hex(t.device_uuid) && d.value("subgroup_size", 0u) == t.subgroup_size_measured;
}

std::string sanitize(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

std::string mode_name(const NumericMode& m) { return describe(m); }

double gflops(uint64_t macs, double ms) { return ms > 0 ? 2.0 * double(macs) / (ms * 1e6) : 0.0; }
double gbps(uint64_t bytes, double ms) { return ms > 0 ? double(bytes) / (ms * 1e6) : 0.0; }

// Pairs a mode is compared with: every mode against the first free one; under the same MAC
// contract, fixed ftz against fixed preserve.
std::vector<std::pair<size_t, size_t>> ratio_pairs(const BenchResult& r) {
  auto ran = [&](size_t i) { return !r.modes[i].refused && r.modes[i].verification.passed; };
  std::vector<std::pair<size_t, size_t>> out;
  int free = -1;
  for (size_t i = 0; i < r.modes.size(); ++i)
    if (!r.modes[i].mode.fixed() && ran(i)) {
      free = static_cast<int>(i);
      break;
    }
  for (size_t i = 0; i < r.modes.size(); ++i)
    if (free >= 0 && int(i) != free && ran(i)) out.emplace_back(i, size_t(free));
  for (size_t i = 0; i < r.modes.size(); ++i)
    for (size_t j = 0; j < r.modes.size(); ++j) {
      const NumericMode &a = r.modes[i].mode, &b = r.modes[j].mode;
      if (ran(i) && ran(j) && a.fixed() && b.fixed() && a.mac == b.mac && a.denorm == DenormRule::Ftz &&
          b.denorm == DenormRule::Preserve)
        out.emplace_back(i, j);
    }
  return out;
}

const LayerResult* find_layer(const ModeResult& m, uint32_t index) {
  for (const LayerResult& l : m.layers)
    if (l.index == index) return &l;
  return nullptr;
}

std::string verification_text(const Verification& v) {
  if (v.method == "none") return "not verified (--verify none)";
  std::string s;
  if (v.method == "sampled")
    s = "every layer at full size from the device's own inputs (conv/dense: " + std::to_string(kSampledChannels) +
        " output channels each) vs the CPU reference";
  else
    s = "final output at full size vs a whole CPU reference pass";
  s += ": " + std::to_string(v.compared) + " values, ";
  if (!v.passed) return s + "FAILED — " + v.first_failure;
  if (v.bit_exact) return s + "bit-exact" + fmt(" (%.1f s)", v.ms / 1000);
  return s + "relative RMS difference " + fmt("%.2g", v.max_rel_rms) + fmt(" (%.1f s)", v.ms / 1000);
}

}  // namespace

json host_json() {
  json load = nullptr;
  double a = 0, b = 0, c = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3) load = {a, b, c};
    std::fclose(f);
  }
  return {{"cpus", std::thread::hardware_concurrency()}, {"load_average", load}};
}

std::string host_text() {
  const json h = host_json();
  std::string s = "host: " + std::to_string(h["cpus"].get<unsigned>()) + " CPUs";
  if (h["load_average"].is_array()) {
    const double load = h["load_average"][0].get<double>();
    s += fmt(", load average %.2f (1 min)", load);
    // Other processes take CPU time from a CPU driver's device threads (and from any driver's
    // submission thread): the rates are then lower than the device's.
    if (load >= 0.5 * h["cpus"].get<double>()) s += " — a busy machine: rates read low";
  }
  return s;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

json device_json(const DeviceTraits& t) {
  const char* width = std::getenv("LP_NATIVE_VECTOR_WIDTH");
  return {{"name", t.name},
          {"vendor", t.vendor},
          {"device_type", t.device_type},
          {"driver_name", t.driver_name},
          {"driver_info", t.driver_info},
          {"driver_version", t.driver_version},
          {"device_uuid", hex(t.device_uuid)},
          {"subgroup_size", t.subgroup_size_measured},
          {"timestamps", t.timestamps},
          {"shader_float16", t.shader_float16},
          {"lp_native_vector_width", width ? json(width) : json(nullptr)}};
}

json peak_json(const PeakResult& p, const DeviceTraits& t, const std::string& measured_at) {
  json variants = json::array(), copies = json::array();
  for (const MadVariant& v : p.variants)
    variants.push_back({{"name", v.name()}, {"precision", v.precision}, {"width", v.width}, {"chains", v.chains},
                        {"fma", v.fma}, {"invocations", v.invocations}, {"iters", v.iters}, {"flops", v.flops},
                        {"best_ms", v.best_ms}, {"median_ms", v.median_ms}, {"gflops", v.gflops},
                        {"median_gflops", v.median_gflops}, {"verified", v.verified}});
  for (const CopyResult& c : p.copies)
    copies.push_back({{"method", c.method}, {"bytes", c.bytes}, {"best_ms", c.best_ms}, {"median_ms", c.median_ms},
                      {"gbps", c.gbps}, {"median_gbps", c.median_gbps}, {"verified", c.verified}});
  return {{"schema_version", kSchemaVersion},
          {"kind", "lockstep-peak"},
          {"measured_at", measured_at},
          {"device", device_json(t)},
          {"host", host_json()},
          {"timing", p.timing},
          {"fp32_gflops", p.fp32_gflops},
          {"fp32_best_variant", p.fp32_best_variant},
          {"fp32_vec4_gflops", p.fp32_vec4_gflops},
          {"fp32_scalar_gflops", p.fp32_scalar_gflops},
          {"fp16_gflops", p.fp16_gflops ? json(*p.fp16_gflops) : json(nullptr)},
          {"fp16_supported", p.fp16_supported},
          {"copy_gbps", p.copy_gbps},
          {"shader_copy_gbps", p.shader_copy_gbps},
          {"wall_s", p.wall_s},
          {"variants", variants},
          {"copies", copies}};
}

PeakResult peak_from_json(const json& j, const std::string& origin) {
  if (!j.is_object()) throw std::invalid_argument(origin + ": expected a JSON object (lockstep peak --json)");
  if (get_string(j, "kind", origin) != "lockstep-peak")
    throw std::invalid_argument(origin + ": field 'kind' is '" + j["kind"].get<std::string>() + "', expected 'lockstep-peak'");
  const double version = get_number(j, "schema_version", origin);
  if (version != kSchemaVersion)
    throw std::invalid_argument(origin + ": field 'schema_version' is " + fmt("%g", version) + ", expected " +
                                std::to_string(kSchemaVersion));
  PeakResult p;
  p.timing = get_string(j, "timing", origin);
  p.fp32_gflops = get_number(j, "fp32_gflops", origin);
  p.copy_gbps = get_number(j, "copy_gbps", origin);
  p.shader_copy_gbps = get_number(j, "shader_copy_gbps", origin);
  p.fp16_supported = j.value("fp16_supported", false);
  p.fp32_vec4_gflops = get_number(j, "fp32_vec4_gflops", origin);
  p.fp32_scalar_gflops = get_number(j, "fp32_scalar_gflops", origin);
  p.fp32_best_variant = get_string(j, "fp32_best_variant", origin);
  if (j.contains("fp16_gflops") && j["fp16_gflops"].is_number()) p.fp16_gflops = j["fp16_gflops"].get<double>();
  if (!(p.fp32_gflops > 0) || !std::isfinite(p.fp32_gflops))
    throw std::invalid_argument(origin + ": field 'fp32_gflops' must be a positive number");
  if (!(p.copy_gbps >= 0) || !std::isfinite(p.copy_gbps))
    throw std::invalid_argument(origin + ": field 'copy_gbps' must be a non-negative number");
  return p;
}

std::string peak_text(const PeakResult& p, const DeviceTraits& t) {
  std::ostringstream o;
  o << "peak on " << t.name << " (" << t.driver_name << "), subgroup " << t.subgroup_size_measured << ", timing: "
    << (p.timing == "host" ? "host wall clock" : "GPU timestamps") << ", best of the timed dispatches (median beside it)\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "  %-32s %10s %10s %12s %9s %s\n", "multiply-add", "GFLOP/s", "median", "GFLOP/disp.",
                "ms/disp.", "checksum");
  o << line;
  for (const MadVariant& v : p.variants) {
    std::snprintf(line, sizeof line, "  %-32s %10.1f %10.1f %12.2f %9.1f %s\n", v.name().c_str(), v.gflops,
                  v.median_gflops, v.flops / 1e9, v.best_ms, v.verified ? "ok" : "WRONG");
    o << line;
  }
  o << "\n";
  std::snprintf(line, sizeof line, "  %-32s %10s %10s %12s %9s %s\n", "copy (read + write)", "GB/s", "median", "MiB/buffer",
                "ms", "contents");
  o << line;
  for (const CopyResult& c : p.copies) {
    std::snprintf(line, sizeof line, "  %-32s %10.1f %10.1f %12.0f %9.2f %s\n", c.method.c_str(), c.gbps, c.median_gbps,
                  c.bytes / 1048576.0, c.best_ms, c.verified ? "ok" : "WRONG");
    o << line;
  }
  o << "\n";
  std::snprintf(line, sizeof line, "  fp32 peak %.1f GFLOP/s (%s); vec4 %.1f, scalar %.1f", p.fp32_gflops,
                p.fp32_best_variant.c_str(), p.fp32_vec4_gflops, p.fp32_scalar_gflops);
  o << line;
  if (p.fp16_gflops) o << fmt("; fp16 peak %.1f GFLOP/s", *p.fp16_gflops);
  else o << (p.fp16_supported ? "; fp16: not measured (--no-fp16)" : "; fp16: not supported (no shaderFloat16)");
  o << fmt("\n  copy bandwidth %.1f GB/s (best copy; a compute shader streams", p.copy_gbps)
    << fmt(" %.1f GB/s)", p.shader_copy_gbps);
  o << fmt("; measured in %.1f s; ", p.wall_s) << host_text() << "\n";
  return o.str();
}

std::filesystem::path peak_cache_path(const DeviceTraits& t) {
  const std::filesystem::path dir = default_cache_dir();
  if (dir.empty()) return {};
  char ids[64];
  std::snprintf(ids, sizeof ids, "%04x-%04x-%08x-sg%u", t.vendor_id, t.device_id, t.driver_version, t.subgroup_size_measured);
  return dir / ("peak-" + std::string(ids) + "-" + sanitize(hex(t.device_uuid)).substr(0, 8) + ".json");
}

std::optional<PeakSource> load_peak_cache(const DeviceTraits& t, std::string* warning) {
  const auto path = peak_cache_path(t);
  if (path.empty() || !std::filesystem::exists(path)) return std::nullopt;
  try {
    std::ifstream in(path);
    const json j = json::parse(in);
    if (!same_device(j.value("device", json::object()), t)) {
      if (warning) *warning = path.string() + " was measured on another device or driver: ignored";
      return std::nullopt;
    }
    PeakSource s;
    s.source = "cache";
    s.path = path.string();
    s.measured_at = j.value("measured_at", "");
    s.peak = peak_from_json(j, path.string());
    return s;
  } catch (const std::exception& e) {
    if (warning) *warning = std::string("ignoring the peak cache: ") + e.what();
    return std::nullopt;
  }
}

void save_peak_cache(const DeviceTraits& t, const json& peak) {
  const auto path = peak_cache_path(t);
  if (path.empty()) return;
  std::filesystem::create_directories(path.parent_path());
  io::write_file_atomically(path.string(), {peak.dump(1), "\n"});
}

PeakSource load_peak_file(const std::string& path, const DeviceTraits& t, std::string* warning) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("--peak " + path + ": cannot open the file");
  json j;
  try {
    j = json::parse(in);
  } catch (const std::exception& e) {
    throw std::invalid_argument("--peak " + path + ": not valid JSON (" + e.what() + ")");
  }
  PeakSource s;
  s.source = "file";
  s.path = path;
  s.peak = peak_from_json(j, path);
  s.measured_at = j.value("measured_at", "");
  if (warning && !same_device(j.value("device", json::object()), t))
    *warning = path + " was measured on another device, driver or subgroup size than this one";
  return s;
}

json bench_json(const BenchResult& r, const Workload& w, const DeviceTraits& t, const PeakSource& ps,
                const graph::Network& net) {
  const double peak_flops = ps.peak ? ps.peak->fp32_gflops : 0.0;
  const double peak_bw = ps.peak ? ps.peak->copy_gbps : 0.0;
  auto pct = [](double v, double peak) { return peak > 0 ? json(100.0 * v / peak) : json(nullptr); };
  const double alongside = r.peak_alongside.empty() ? 0.0 : stats_of(r.peak_alongside).median;

  json workload = {{"command", w.command}, {"batch", r.batch}, {"macs", r.macs}, {"gflop", 2.0 * double(r.macs) / 1e9},
                   {"network", net.name}};
  const bool op = w.command == "bench-op";
  workload["op"] = op ? json(w.op) : json(nullptr);
  workload["shape"] = op ? json(w.shape) : json(nullptr);
  workload["model"] = op ? json(nullptr) : json(w.model);
  workload["layout"] = op ? json(nullptr) : json(w.layout);
  workload["input_size"] = op ? json(nullptr) : json(w.input_size);
  workload["weights"] = w.weights;
  json peak = {{"source", ps.source},
               {"path", ps.path.empty() ? json(nullptr) : json(ps.path)},
               {"measured_at", ps.measured_at.empty() ? json(nullptr) : json(ps.measured_at)},
               {"fp32_gflops", ps.peak ? json(peak_flops) : json(nullptr)},
               {"fp32_best_variant", ps.peak ? json(ps.peak->fp32_best_variant) : json(nullptr)},
               {"copy_gbps", ps.peak ? json(peak_bw) : json(nullptr)},
               {"shader_copy_gbps", ps.peak ? json(ps.peak->shader_copy_gbps) : json(nullptr)}};

  json modes = json::array();
  for (const ModeResult& m : r.modes) {
    json jm = {{"mode", mode_name(m.mode)},
               {"order", std::string(to_string(m.mode.order))},
               {"contract", m.mode.fixed() ? json(std::string(to_string(m.mode.mac))) : json(nullptr)},
               {"denormals", m.mode.fixed() ? json(std::string(to_string(m.mode.denorm))) : json(nullptr)},
               {"refused", m.refused ? json(*m.refused) : json(nullptr)}};
    for (const char* k : {"verification", "build_ms", "first_run_ms", "first_run_gpu_ms", "first_run_extra_ms",
                          "weight_bytes", "activation_bytes", "totals"})
      jm[k] = nullptr;
    jm["layers"] = json::array();
    if (m.refused) {
      modes.push_back(jm);
      continue;
    }
    const Verification& v = m.verification;
    jm["verification"] = {{"method", v.method},          {"passed", v.passed},
                          {"bit_exact", v.bit_exact},    {"compared", v.compared},
                          {"mismatches", v.mismatches},  {"max_rel_rms", v.max_rel_rms},
                          {"first_failure", v.first_failure.empty() ? json(nullptr) : json(v.first_failure)},
                          {"ms", v.ms}};
    jm["build_ms"] = m.build_ms;
    jm["first_run_ms"] = m.first_run_ms;
    jm["first_run_gpu_ms"] = m.first_run_gpu_ms ? json(*m.first_run_gpu_ms) : json(nullptr);
    jm["weight_bytes"] = m.weight_bytes;
    jm["activation_bytes"] = m.activation_bytes;
    if (!v.passed) {
      modes.push_back(jm);
      continue;
    }
    const double med = m.compute_ms.median;
    jm["first_run_extra_ms"] = m.first_run_ms - (med + m.upload_ms.median + m.download_ms.median);
    jm["totals"] = {{"compute_ms", stats_json(m.compute_ms)},
                    {"gpu_ms", opt_stats_json(m.gpu_ms)},
                    {"upload_ms", stats_json(m.upload_ms)},
                    {"download_ms", stats_json(m.download_ms)},
                    {"cpu_ms", stats_json(m.cpu_ms)},
                    {"gflops", gflops(r.macs, med)},
                    {"percent_of_peak", pct(gflops(r.macs, med), peak_flops)},
                    {"percent_of_peak_alongside", pct(gflops(r.macs, med), alongside)},
                    {"images_per_s", 1000.0 * r.batch / med},
                    {"images_per_s_with_transfers", 1000.0 * r.batch / (med + m.upload_ms.median + m.download_ms.median)}};
    json layers = json::array();
    for (const LayerResult& l : m.layers) {
      const uint64_t bytes = l.cost.bytes_read + l.cost.bytes_written;
      json jl = {{"index", l.index},           {"name", l.name},
                 {"kind", l.kind},             {"kernels", l.kernels},
                 {"fused", l.fused},
                 {"dispatches", l.dispatches}, {"ms", opt_stats_json(l.ms)},
                 {"macs", l.cost.macs},        {"bytes_read", l.cost.bytes_read},
                 {"bytes_written", l.cost.bytes_written}};
      if (l.ms) {
        const double ms = l.ms->median;
        jl["gflops"] = l.cost.macs ? json(gflops(l.cost.macs, ms)) : json(nullptr);
        jl["gbps"] = gbps(bytes, ms);
        jl["percent_of_peak_flops"] = l.cost.macs ? pct(gflops(l.cost.macs, ms), peak_flops) : json(nullptr);
        jl["percent_of_peak_bandwidth"] = pct(gbps(bytes, ms), peak_bw);
      } else {
        jl["gflops"] = jl["gbps"] = jl["percent_of_peak_flops"] = jl["percent_of_peak_bandwidth"] = nullptr;
      }
      layers.push_back(jl);
    }
    jm["layers"] = layers;
    modes.push_back(jm);
  }

  json ratios = json::array();
  for (const auto& [a, b] : ratio_pairs(r)) {
    const ModeResult &ma = r.modes[a], &mb = r.modes[b];
    json layers = json::array();
    for (const LayerResult& la : ma.layers) {
      const LayerResult* lb = find_layer(mb, la.index);
      if (!la.ms || !lb || !lb->ms) continue;
      layers.push_back({{"index", la.index}, {"name", la.name}, {"ratio", la.ms->median / lb->ms->median}});
    }
    json jr = {{"mode", mode_name(ma.mode)},
               {"baseline", mode_name(mb.mode)},
               {"compute", ma.compute_ms.median / mb.compute_ms.median},
               {"gpu", ma.gpu_ms && mb.gpu_ms ? json(ma.gpu_ms->median / mb.gpu_ms->median) : json(nullptr)},
               {"layers", layers}};
    ratios.push_back(jr);
  }

  return {{"schema_version", kSchemaVersion},
          {"kind", "lockstep-bench"},
          {"created_at", utc_now()},
          {"workload", workload},
          {"device", device_json(t)},
          {"host", host_json()},
          {"timing", {{"source", r.timing}, {"warmup", r.warmup}, {"reps", r.reps}, {"interleaved", r.interleaved}}},
          {"peak", peak},
          {"peak_alongside", r.peak_alongside.empty()
                                 ? json(nullptr)
                                 : json({{"variant", r.peak_probe},
                                         {"samples", r.peak_alongside.size()},
                                         {"fp32_gflops", stats_json(stats_of(r.peak_alongside))}})},
          {"verified", r.verified()},
          {"modes", modes},
          {"ratios", ratios}};
}

std::string bench_text(const BenchResult& r, const Workload& w, const DeviceTraits& t, const PeakSource& ps,
                       const graph::Network& net) {
  std::ostringstream o;
  const double peak_flops = ps.peak ? ps.peak->fp32_gflops : 0.0;
  const double peak_bw = ps.peak ? ps.peak->copy_gbps : 0.0;
  char line[512];
  if (w.command == "bench-op")
    o << "bench-op " << w.op << " " << w.shape;
  else
    o << w.model << " (" << w.layout << ") " << w.input_size << "x" << w.input_size << ", weights " << w.weights;
  o << ", batch " << r.batch << fmt(": %.2f GMAC", double(r.macs) / 1e9) << " (conv + dense), "
    << net.layers.size() - 1 << " layers\n";
  o << "device: " << t.name << " (" << t.driver_name << "), subgroup " << t.subgroup_size_measured << "; " << host_text()
    << "\n";
  o << "timing: " << (r.timing == "host" ? "host wall clock (no per-layer times)" : "GPU timestamps around every dispatch")
    << "; " << r.warmup << " warm-up run(s) after the verified first run, then " << r.reps
    << " timed runs" << (r.interleaved && r.modes.size() > 1 ? " per mode, the modes taking turns run by run (order changing every round)" : "")
    << ": min / median / max\n";
  if (ps.peak)
    o << "peak: fp32 " << fmt("%.1f", peak_flops) << " GFLOP/s (" << ps.peak->fp32_best_variant << "), copy "
      << fmt("%.1f", peak_bw) << " GB/s — "
      << (ps.source == "measured" ? "measured in this process (quick: fp32 vec4, 2, 4 and 8 chains)"
                                  : ps.source + " " + ps.path + (ps.measured_at.empty() ? "" : ", measured " + ps.measured_at))
      << "\n";
  else
    o << "peak: none (--peak none): no % of peak\n";
  if (!r.peak_alongside.empty()) {
    const Stats a = stats_of(r.peak_alongside);
    char buf[256];
    std::snprintf(buf, sizeof buf, "peak alongside: fp32 %.1f GFLOP/s median (%.1f-%.1f over %zu samples, one per round of timed runs; ",
                  a.median, a.min, a.max, r.peak_alongside.size());
    o << buf << r.peak_probe << ")\n";
  }

  for (const ModeResult& m : r.modes) {
    o << "\n" << mode_name(m.mode) << ": ";
    if (m.refused) {
      o << "refused on this device: " << *m.refused << "\n";
      continue;
    }
    o << "verified " << verification_text(m.verification) << "\n";
    if (!m.verification.passed) continue;
    const double med = m.compute_ms.median;
    const double transfers = m.upload_ms.median + m.download_ms.median;
    const double extra = m.first_run_ms - med - transfers;
    if (extra > std::max(50.0, 0.1 * med))
      std::snprintf(line, sizeof line,
                    "  build %.0f ms; first run %.0f ms = a timed run + %.0f ms of lazy shader compilation "
                    "(lavapipe: LLVM; cached on disk for the next time)\n",
                    m.build_ms, m.first_run_ms, extra);
    else
      std::snprintf(line, sizeof line, "  build %.0f ms; first run %.0f ms (no lazy compilation: shaders cached)\n",
                    m.build_ms, m.first_run_ms);
    o << line;
    std::snprintf(line, sizeof line, "  compute %.2f / %.2f / %.2f ms", m.compute_ms.min, med, m.compute_ms.max);
    o << line;
    if (m.gpu_ms) o << fmt(" (dispatches %.2f ms)", m.gpu_ms->median);
    std::snprintf(line, sizeof line, "; upload %.2f ms, download %.2f ms (medians, apart from compute)\n",
                  m.upload_ms.median, m.download_ms.median);
    o << line;
    std::snprintf(line, sizeof line, "  process CPU time per run %.1f ms (median, all threads)\n", m.cpu_ms.median);
    o << line;
    const double gf = gflops(r.macs, med);
    o << "  ";
    if (r.macs) {
      o << fmt("%.1f GFLOP/s", gf);
      if (peak_flops > 0) o << fmt(" = %.1f%% of peak", 100.0 * gf / peak_flops);
      if (!r.peak_alongside.empty()) o << fmt(" (%.1f%% of the peak alongside)", 100.0 * gf / stats_of(r.peak_alongside).median);
      o << ", ";
    }
    o << fmt("%.2f images/s", 1000.0 * r.batch / med);
    if (r.batch > 1) o << fmt(" (%.2f with transfers)", 1000.0 * r.batch / (med + transfers));
    o << fmt("; memory: weights %.1f MiB", m.weight_bytes / 1048576.0)
      << fmt(", activations %.1f MiB\n", m.activation_bytes / 1048576.0);
  }

  // One per-layer table: the first mode that ran in full, the other modes' times and ratios.
  const ModeResult* first = nullptr;
  for (const ModeResult& m : r.modes)
    if (!m.refused && m.verification.passed && !m.layers.empty() && m.layers.front().ms) {
      first = &m;
      break;
    }
  if (!first) return o.str();
  const auto pairs = ratio_pairs(r);
  std::vector<const ModeResult*> others;
  for (const ModeResult& m : r.modes)
    if (&m != first && !m.refused && m.verification.passed && !m.layers.empty() && m.layers.front().ms) others.push_back(&m);

  o << "\nper layer (median ms; GFLOP/s, % of fp32 peak, GB/s and % of copy bandwidth for " << mode_name(first->mode)
    << "):\n";
  std::snprintf(line, sizeof line, "  %-3s %-26s %-10s %8s %9s %8s %6s %7s %5s", "#", "layer", "kind", "MFLOP", "ms",
                "GFLOP/s", "%peak", "GB/s", "%bw");
  o << line;
  for (const ModeResult* m : others) {
    std::string name = mode_name(m->mode);
    if (name.rfind("fixed/", 0) == 0) name = name.substr(6);
    std::snprintf(line, sizeof line, " %10s", name.substr(0, 10).c_str());
    o << line;
  }
  for (const auto& [a, b] : pairs) {
    std::string sa = mode_name(r.modes[a].mode), sb = mode_name(r.modes[b].mode);
    auto brief = [](std::string s) {
      if (s == "free") return s;
      s = s.substr(6);  // "fixed/"
      return s == "muladd/preserve" ? std::string("fixed") : s.substr(s.find('/') + 1);
    };
    const std::string label = brief(sa) + "/" + brief(sb);
    o << " " << std::string(std::max<int>(0, 10 - int(label.size())), ' ') << label;
  }
  o << "  kernel\n";
  auto total_row = [&](const char* name, double ms_first, const std::vector<double>& ms_others, std::vector<double> ratios) {
    std::snprintf(line, sizeof line, "  %-3s %-26s %-10s %8.0f %9.2f %8.1f %6s %7s %5s", "", name, "",
                  2.0 * double(r.macs) / 1e6, ms_first, gflops(r.macs, ms_first),
                  peak_flops > 0 ? fmt("%.1f", 100.0 * gflops(r.macs, ms_first) / peak_flops).c_str() : "-", "", "");
    o << line;
    for (double v : ms_others) o << fmt(" %10.2f", v);
    for (double v : ratios) o << fmt(" %10.3f", v);
    o << "\n";
  };
  for (const LayerResult& l : first->layers) {
    const double ms = l.ms->median;
    const uint64_t bytes = l.cost.bytes_read + l.cost.bytes_written;
    const std::string name = l.name.size() > 26 ? l.name.substr(0, 25) + "~" : l.name;
    std::snprintf(line, sizeof line, "  %-3u %-26s %-10s %8s %9.2f %8s %6s %7.2f %5s", l.index, name.c_str(),
                  l.kind.substr(0, 10).c_str(), l.cost.macs ? fmt("%.0f", 2.0 * double(l.cost.macs) / 1e6).c_str() : "-",
                  ms, l.cost.macs ? fmt("%.1f", gflops(l.cost.macs, ms)).c_str() : "-",
                  l.cost.macs && peak_flops > 0 ? fmt("%.1f", 100.0 * gflops(l.cost.macs, ms) / peak_flops).c_str() : "-",
                  gbps(bytes, ms), peak_bw > 0 ? fmt("%.1f", 100.0 * gbps(bytes, ms) / peak_bw).c_str() : "-");
    o << line;
    for (const ModeResult* m : others) {
      const LayerResult* x = find_layer(*m, l.index);
      o << (x && x->ms ? fmt(" %10.2f", x->ms->median) : std::string(10, ' ') + "-");
    }
    for (const auto& [a, b] : pairs) {
      const LayerResult* la = find_layer(r.modes[a], l.index);
      const LayerResult* lb = find_layer(r.modes[b], l.index);
      o << (la && lb && la->ms && lb->ms ? fmt(" %10.3f", la->ms->median / lb->ms->median) : std::string(11, ' '));
    }
    std::string kernel;
    for (const std::string& k : l.kernels)
      if (kernel.find(k) == std::string::npos) kernel += (kernel.empty() ? "" : "; ") + k;
    for (const ModeResult* m : others) {
      const LayerResult* x = find_layer(*m, l.index);
      if (!x || x->kernels == l.kernels) continue;
      std::string k2;
      for (const std::string& k : x->kernels)
        if (k2.find(k) == std::string::npos) k2 += (k2.empty() ? "" : "; ") + k;
      kernel += " | " + mode_name(m->mode) + ": " + k2;
    }
    o << "  " << kernel << "\n";
  }
  std::vector<double> other_ms, ratio_totals;
  for (const ModeResult* m : others) other_ms.push_back(m->gpu_ms->median);
  for (const auto& [a, b] : pairs) ratio_totals.push_back(r.modes[a].gpu_ms->median / r.modes[b].gpu_ms->median);
  total_row("total (dispatches)", first->gpu_ms->median, other_ms, ratio_totals);
  other_ms.clear(), ratio_totals.clear();
  for (const ModeResult* m : others) other_ms.push_back(m->compute_ms.median);
  for (const auto& [a, b] : pairs) ratio_totals.push_back(r.modes[a].compute_ms.median / r.modes[b].compute_ms.median);
  total_row("total (compute, wall)", first->compute_ms.median, other_ms, ratio_totals);
  return o.str();
}

}  // namespace lockstep::bench
