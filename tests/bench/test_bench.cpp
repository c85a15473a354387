// `lockstep peak`, `bench` and `bench-op`: the JSON they write matches docs/bench-schema.md in
// both directions, the outputs they verify are correct, verification catches a wrong value, and
// bad input fails with a clear message. No timing is asserted (these run on a shared machine).
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bench/bench.hpp"
#include "bench/bench_report.hpp"
#include "graph/executor.hpp"
#include "graph/reference_forward.hpp"
#include "models/models.hpp"
#include "vk/context.hpp"
#include "vk/device.hpp"

using nlohmann::json;
using namespace lockstep;

namespace {

struct Result {
  int status = -1;
  std::string out;
};

// `env`: VAR=VALUE assignments for the child ("" for none).
Result cli_env(const std::string& env, const std::string& args) {
  const std::string cmd = (env.empty() ? "" : "env " + env + " ") + std::string(LOCKSTEP_CLI) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  Result r;
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int s = ::pclose(p);
  r.status = WIFEXITED(s) ? WEXITSTATUS(s) : -1;
  return r;
}
Result cli(const std::string& args) { return cli_env("", args); }

std::filesystem::path scratch() {
  static const auto dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("lockstep-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  EXPECT_TRUE(in.good()) << p;
  return json::parse(in);
}

// The documented fields of one section of docs/bench-schema.md: path -> type.
std::map<std::string, std::string> documented(const std::string& section) {
  std::ifstream in(LOCKSTEP_SCHEMA_DOC);
  EXPECT_TRUE(in.good()) << LOCKSTEP_SCHEMA_DOC;
  std::map<std::string, std::string> fields;
  std::string line, current;
  const std::regex row(R"(^\| `([^`]+)` \| ([a-z]+\??) \|)");
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) current = line.substr(3);
    std::smatch m;
    if (current == section && std::regex_search(line, m, row)) fields[m[1]] = m[2];
  }
  EXPECT_GT(fields.size(), 10u) << "section '" << section << "' of " << LOCKSTEP_SCHEMA_DOC;
  return fields;
}

bool has_type(const json& v, const std::string& type) {
  std::string t = type;
  if (!t.empty() && t.back() == '?') {
    if (v.is_null()) return true;
    t.pop_back();
  }
  if (t == "string") return v.is_string();
  if (t == "number") return v.is_number();
  if (t == "integer") return v.is_number_integer();
  if (t == "boolean") return v.is_boolean();
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  return false;
}

// Every value at `path` ("a.b[].c"), expanding arrays; values under a null parent are skipped.
void collect(const json& v, const std::string& path, size_t at, std::vector<const json*>& out, bool& missing) {
  if (at >= path.size()) {
    out.push_back(&v);
    return;
  }
  if (v.is_null()) return;
  if (path.compare(at, 2, "[]") == 0) {
    if (!v.is_array()) {
      missing = true;
      return;
    }
    for (const json& e : v) collect(e, path, at + 2 + (at + 2 < path.size() && path[at + 2] == '.'), out, missing);
    return;
  }
  size_t end = path.find_first_of(".[", at);
  if (end == std::string::npos) end = path.size();
  const std::string key = path.substr(at, end - at);
  if (!v.is_object() || !v.contains(key)) {
    missing = true;
    return;
  }
  collect(v[key], path, end + (end < path.size() && path[end] == '.'), out, missing);
}

// Every field present and documented, every documented field present with its type.
void expect_schema(const json& j, const std::string& section) {
  const auto fields = documented(section);
  for (const auto& [path, type] : fields) {
    std::vector<const json*> values;
    bool missing = false;
    collect(j, path, 0, values, missing);
    EXPECT_FALSE(missing) << section << ": documented field '" << path << "' is missing";
    for (const json* v : values) {
      EXPECT_TRUE(has_type(*v, type)) << section << ": '" << path << "' is " << v->dump() << ", documented as " << type;
    }
  }
  // The reverse: nothing undocumented.
  std::function<void(const json&, const std::string&)> walk = [&](const json& v, const std::string& path) {
    if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        const std::string p = path.empty() ? it.key() : path + "." + it.key();
        EXPECT_TRUE(fields.count(p)) << section << ": field '" << p << "' is not documented in " << LOCKSTEP_SCHEMA_DOC;
        walk(it.value(), p);
      }
    } else if (v.is_array()) {
      for (const json& e : v) {
        EXPECT_TRUE(fields.count(path + "[]")) << section << ": elements of '" << path << "' are not documented";
        walk(e, path + "[]");
      }
    }
  };
  walk(j, "");
}

const json* mode(const json& j, const std::string& name) {
  for (const json& m : j["modes"])
    if (m["mode"] == name) return &m;
  return nullptr;
}

// Runs a bench or bench-op command with `--json <scratch>/<file>`: its JSON, checked against
// the schema; null (and a failure) when the command failed.
json bench_json(const std::string& args, const std::string& file) {
  const auto path = scratch() / file;
  const Result r = cli(args + " --json " + path.string());
  EXPECT_EQ(r.status, 0) << r.out;
  if (r.status != 0) return json();
  json j = read_json(path);
  expect_schema(j, "lockstep bench --json");
  return j;
}

void expect_verified(const json& j, const std::string& name) {
  const json* m = mode(j, name);
  ASSERT_NE(m, nullptr) << name << " missing";
  ASSERT_TRUE((*m)["refused"].is_null()) << (*m)["refused"];
  const json& v = (*m)["verification"];
  EXPECT_TRUE(v["passed"].get<bool>()) << v.dump();
  EXPECT_GT(v["compared"].get<uint64_t>(), 0u);
  if ((*m)["order"] == "fixed") {
    EXPECT_TRUE(v["bit_exact"].get<bool>()) << v.dump();
    EXPECT_EQ(v["mismatches"].get<uint64_t>(), 0u);
    EXPECT_EQ(v["max_rel_rms"].get<double>(), 0.0);
  } else {
    EXPECT_LE(v["max_rel_rms"].get<double>(), bench::kFreeLayerTolerance);
  }
  EXPECT_TRUE((*m)["totals"].is_object());
}

}  // namespace

TEST(Peak, JsonMatchesTheDocumentedSchemaAndEveryChecksumIsVerified) {
  const auto path = scratch() / "peak.json";
  const Result r = cli("peak --device 0 --ms 4 --reps 1 --chains 1,8 --copy-mib 2 --json " + path.string());
  ASSERT_EQ(r.status, 0) << r.out;
  const json j = read_json(path);
  expect_schema(j, "lockstep peak --json");
  EXPECT_EQ(j["schema_version"], 1);
  // fp32/fp16 x vec4/scalar x mul+add/fma x 2 chain counts.
  const size_t precisions = j["device"]["shader_float16"].get<bool>() ? 2 : 1;
  EXPECT_EQ(j["variants"].size(), precisions * 2 * 2 * 2);
  double best = 0;
  for (const json& v : j["variants"]) {
    EXPECT_TRUE(v["verified"].get<bool>()) << v["name"];
    // The FLOP count is the documented formula.
    EXPECT_EQ(v["flops"].get<double>(), v["invocations"].get<double>() * v["iters"].get<double>() * 4 *
                                             v["chains"].get<double>() * v["width"].get<double>() * 2);
    if (v["precision"] == "fp32") best = std::max(best, v["gflops"].get<double>());
  }
  EXPECT_EQ(j["fp32_gflops"].get<double>(), best);
  ASSERT_EQ(j["copies"].size(), 4u);
  for (const json& c : j["copies"]) {
    EXPECT_TRUE(c["verified"].get<bool>()) << c["method"];
    EXPECT_EQ(c["bytes"].get<uint64_t>(), 2u << 20);
  }
  // A short measurement is not cached: bench must not compare against it.
  if (const char* dir = std::getenv("LOCKSTEP_CACHE_DIR"); dir && std::filesystem::is_directory(dir)) {
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      EXPECT_NE(e.path().filename().string().rfind("peak-", 0), 0u) << "short measurement cached: " << e.path();
    }
  }
}

// Only a whole measurement is cached for bench: a partial one (fewer chains, say) could read
// lower, and bench would then report inflated percentages.
TEST(PeakCache, OnlyWholeMeasurementsAreCacheable) {
  EXPECT_TRUE(bench::cacheable(bench::PeakOptions{}));
  bench::PeakOptions o;
  o.chains = {8, 16};
  EXPECT_FALSE(bench::cacheable(o));
  o = {};
  o.target_ms = 20.0;
  EXPECT_FALSE(bench::cacheable(o));
  o = {};
  o.host_timing = true;
  EXPECT_FALSE(bench::cacheable(o));
  o = {};
  o.scalar = false;
  EXPECT_FALSE(bench::cacheable(o));
  o = {};
  o.copy_bytes = 1u << 20;
  EXPECT_FALSE(bench::cacheable(o));
  o = {};
  o.fp16 = false;  // fp16 does not enter the fp32 peak
  o.copy_bytes = 128u << 20;
  EXPECT_TRUE(bench::cacheable(o));
  // The CLI: 50 ms dispatches but one chain count, no cache file.
  const auto dir = scratch() / "partial-cache";
  std::filesystem::create_directories(dir);
  const Result r = cli_env("LOCKSTEP_CACHE_DIR=" + dir.string(),
                           "peak --device 0 --ms 50 --reps 1 --chains 8 --no-fp16 --copy-mib 1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("cached for lockstep bench"), std::string::npos) << r.out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    EXPECT_NE(e.path().filename().string().rfind("peak-", 0), 0u) << "partial measurement cached: " << e.path();
}

TEST(PeakCache, RoundTripsAndIgnoresAnotherDevice) {
  const auto dir = scratch() / "cache";
  ::setenv("LOCKSTEP_CACHE_DIR", dir.c_str(), 1);
  ContextOptions co;
  Context ctx(co);
  Device device(ctx, 0);
  bench::PeakResult p;
  p.timing = "gpu_timestamps";
  p.fp32_gflops = 123.5, p.fp32_vec4_gflops = 123.5, p.fp32_scalar_gflops = 60.25, p.copy_gbps = 20.5;
  p.shader_copy_gbps = 3.5, p.fp32_best_variant = "fp32 vec4 8 chains mul+add";
  json j = bench::peak_json(p, device.traits(), "2024-01-01T00:00:00Z");
  expect_schema(j, "lockstep peak --json");
  bench::save_peak_cache(device.traits(), j);
  std::string warning;
  const auto back = bench::load_peak_cache(device.traits(), &warning);
  ASSERT_TRUE(back.has_value()) << warning;
  EXPECT_EQ(back->source, "cache");
  EXPECT_EQ(back->peak->fp32_gflops, 123.5);
  EXPECT_EQ(back->peak->copy_gbps, 20.5);
  EXPECT_EQ(back->measured_at, "2024-01-01T00:00:00Z");
  // Measured on another device (or another subgroup size): not used.
  j["device"]["subgroup_size"] = device.traits().subgroup_size_measured + 1;
  bench::save_peak_cache(device.traits(), j);
  EXPECT_FALSE(bench::load_peak_cache(device.traits(), &warning).has_value());
  EXPECT_NE(warning.find("another device"), std::string::npos) << warning;
  ::unsetenv("LOCKSTEP_CACHE_DIR");
  EXPECT_EQ(ctx.validation_log().errors.load(), 0u);
}

TEST(BenchOp, ConvolutionInEveryModeIsVerifiedAndReportedAsDocumented) {
  // The peak file from a (short) measurement, read back by bench.
  const auto peak = scratch() / "peak-for-op.json";
  ASSERT_EQ(cli("peak --device 0 --ms 2 --reps 1 --chains 8 --no-fp16 --copy-mib 1 --json " + peak.string()).status, 0);
  const auto path = scratch() / "op.json";
  const Result r = cli("bench-op --device 0 --op conv2d --shape c=5,h=9,w=11,co=7,k=3,s=1,p=1 --order both "
                       "--denormals both --warmup 1 --reps 2 --peak " + peak.string() + " --json " + path.string());
  ASSERT_EQ(r.status, 0) << r.out;
  const json j = read_json(path);
  expect_schema(j, "lockstep bench --json");
  EXPECT_TRUE(j["verified"].get<bool>());
  EXPECT_EQ(j["peak"]["source"], "file");
  // The ceiling re-measured once per round of timed runs (2 reps), and every mode's share of it.
  ASSERT_TRUE(j["peak_alongside"].is_object());
  EXPECT_EQ(j["peak_alongside"]["samples"], 2);
  EXPECT_GT(j["peak_alongside"]["fp32_gflops"]["min"].get<double>(), 0.0);
  ASSERT_EQ(j["modes"].size(), 3u);
  for (const json& m : j["modes"]) EXPECT_TRUE(m["totals"]["percent_of_peak_alongside"].is_number());
  for (const char* m : {"fixed/muladd/preserve", "fixed/muladd/ftz", "free"}) expect_verified(j, m);
  // Work and traffic by the documented formulas: 7 channels x 9x11 pixels x 5 channels x 3x3 taps.
  const uint64_t macs = 7ull * 9 * 11 * 5 * 3 * 3;
  EXPECT_EQ(j["workload"]["macs"], macs);
  for (const json& m : j["modes"]) {
    ASSERT_EQ(m["layers"].size(), 1u);
    const json& l = m["layers"][0];
    EXPECT_EQ(l["kind"], "Conv2d");
    EXPECT_EQ(l["macs"], macs);
    EXPECT_EQ(l["bytes_read"], 4u * (5 * 9 * 11 + 7 * 5 * 3 * 3 + 7));
    EXPECT_EQ(l["bytes_written"], 4u * 7 * 9 * 11);
    EXPECT_GE(l["dispatches"].get<int>(), 1);
    ASSERT_FALSE(l["kernels"].empty());
    EXPECT_EQ(l["kernels"][0].get<std::string>().rfind("conv2d", 0), 0u) << l["kernels"][0];
    EXPECT_TRUE(l["percent_of_peak_flops"].is_number());
  }
  // Ratios: fixed preserve / free, fixed ftz / free, fixed ftz / fixed preserve.
  std::set<std::pair<std::string, std::string>> pairs;
  for (const json& q : j["ratios"]) pairs.insert({q["mode"].get<std::string>(), q["baseline"].get<std::string>()});
  EXPECT_EQ(pairs, (std::set<std::pair<std::string, std::string>>{{"fixed/muladd/preserve", "free"},
                                                                   {"fixed/muladd/ftz", "free"},
                                                                   {"fixed/muladd/ftz", "fixed/muladd/preserve"}}));
}

TEST(Bench, ModelPerLayerTableCoversEveryDispatchingLayer) {
  const json j = bench_json("bench --device 0 --model resnet18 --layout torch --input-size 32 --order both "
                            "--warmup 0 --reps 1 --peak none", "model.json");
  ASSERT_FALSE(j.is_null());
  expect_verified(j, "fixed/muladd/preserve");
  expect_verified(j, "free");
  EXPECT_EQ(j["peak"]["source"], "none");
  // The table has a row for every layer of the prepared network that dispatches, and the
  // layers' MACs add up to the model's.
  models::ModelOptions mo;
  mo.arch = "resnet18", mo.layout = models::Layout::Torch, mo.input_size = 32;
  graph::Network net = models::build(mo);
  models::init_synthetic(net, 1, 1.0);
  graph::prepare(net);
  std::vector<std::string> expected;
  for (const auto& l : net.layers)
    if (l.kind != graph::LayerKind::Input && l.kind != graph::LayerKind::Flatten && l.kind != graph::LayerKind::Dropout)
      expected.push_back(l.name);
  for (const json& m : j["modes"]) {
    // A row per layer, or the layer in the `fused` list of the row before it.
    std::vector<std::string> names;
    uint64_t macs = 0;
    for (const json& l : m["layers"]) {
      names.push_back(l["name"]);
      for (const json& f : l["fused"]) {
        names.push_back(f);
        EXPECT_EQ(l["kind"], "Conv2d+Add") << l["name"];
      }
      macs += l["macs"].get<uint64_t>();
    }
    EXPECT_EQ(names, expected) << m["mode"];
    EXPECT_EQ(macs, j["workload"]["macs"].get<uint64_t>());
    EXPECT_EQ(j["workload"]["macs"].get<uint64_t>(), net.macs());
  }
  // The text table names the kernel variants and the price of fixed order.
  const Result t = cli("bench --device 0 --model resnet18 --layout torch --input-size 32 --warmup 0 --reps 1 --peak none");
  ASSERT_EQ(t.status, 0) << t.out;
  EXPECT_NE(t.out.find("fixed/free"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("conv2d "), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("bit-exact"), std::string::npos) << t.out;
}

TEST(Bench, FullVerificationOfABatchAgainstAWholeReferencePass) {
  // Fixed order only, on a model the CLI tests also run: lavapipe's compiled kernels are shared.
  const json j = bench_json("bench --device 0 --model vgg11 --layout torch --input-size 32 --batch 2 --order fixed "
                            "--verify full --warmup 0 --reps 1 --peak none", "full.json");
  ASSERT_FALSE(j.is_null());
  ASSERT_EQ(j["modes"].size(), 1u);
  expect_verified(j, "fixed/muladd/preserve");
  const json& v = (*mode(j, "fixed/muladd/preserve"))["verification"];
  EXPECT_EQ(v["method"], "full");
  EXPECT_EQ(v["compared"], 2 * 1000);  // the batch's 2 x 1000 class probabilities
  EXPECT_EQ(j["workload"]["batch"], 2);
  EXPECT_GT(j["modes"][0]["totals"]["images_per_s_with_transfers"].get<double>(), 0.0);
}

// The modes take turns run by run unless told otherwise, or unless their networks do not fit in
// 7/8 of the device's memory together; every mode still gets its reps.
TEST(BenchOp, ModesTakeTurnsWhenTheyFitTogether) {
  auto run = [](const std::string& extra, const std::string& env) {
    const auto path = scratch() / "turns.json";
    std::filesystem::remove(path);
    const Result r = cli_env(env, "bench-op --device 0 --op conv2d --shape c=4,h=8,w=8,co=8,k=3,s=1,p=1 --order both "
                                  "--warmup 1 --reps 3 --peak none " + extra + " --json " + path.string());
    EXPECT_EQ(r.status, 0) << r.out;
    return read_json(path);
  };
  const json turns = run("", "");
  expect_schema(turns, "lockstep bench --json");
  EXPECT_TRUE(turns["timing"]["interleaved"].get<bool>());
  EXPECT_TRUE(turns["peak_alongside"].is_null());  // --peak none: no ceiling, no probe
  const json row = run("--sequential", "");
  EXPECT_FALSE(row["timing"]["interleaved"].get<bool>());
  // A budget that holds one network but not two in its 7/8.
  const uint64_t one = turns["modes"][0]["weight_bytes"].get<uint64_t>() + turns["modes"][0]["activation_bytes"].get<uint64_t>();
  const json tight = run("", "LOCKSTEP_DEVICE_MEMORY_LIMIT=" + std::to_string(2 * one));
  EXPECT_FALSE(tight["timing"]["interleaved"].get<bool>());
  for (const json* j : {&turns, &row, &tight}) {
    ASSERT_EQ((*j)["modes"].size(), 2u);
    for (const json& m : (*j)["modes"]) {
      EXPECT_TRUE(m["verification"]["passed"].get<bool>());
      EXPECT_LE(m["totals"]["compute_ms"]["min"].get<double>(), m["totals"]["compute_ms"]["median"].get<double>());
      EXPECT_TRUE(m["layers"][0]["ms"]["median"].is_number());
    }
  }
}

// Interleaved rounds change their order: over 2 x n rounds each round is a permutation, every
// mode runs equally often in every slot, and every ordered pair of modes is adjacent equally
// often (one order for every round made free order always follow fixed/ftz, which biased the
// fixed/free ratio by ~6%).
TEST(BenchTurns, EveryModeTakesEverySlotAndFollowsEveryOtherEquallyOften) {
  for (size_t n = 1; n <= 6; ++n) {
    std::map<std::pair<size_t, size_t>, int> slot, follows;
    for (uint32_t round = 0; round < 2 * n; ++round) {
      const std::vector<size_t> order = bench::turn_order(round, n);
      ASSERT_EQ(order.size(), n);
      EXPECT_EQ(std::set<size_t>(order.begin(), order.end()).size(), n) << "round " << round << " is not a permutation";
      for (size_t j = 0; j < n; ++j) {
        ASSERT_LT(order[j], n);
        ++slot[{order[j], j}];
        if (j > 0) ++follows[{order[j - 1], order[j]}];
      }
    }
    for (size_t m = 0; m < n; ++m)
      for (size_t j = 0; j < n; ++j) EXPECT_EQ((slot[{m, j}]), 2) << "n " << n << ", mode " << m << ", slot " << j;
    for (size_t a = 0; a < n; ++a) {
      for (size_t b = 0; b < n; ++b) {
        if (a == b) continue;
        EXPECT_EQ((follows[{a, b}]), 2) << "n " << n << ": " << a << " -> " << b;
      }
    }
  }
}

TEST(BenchOp, ResidualConvolutionIsFusedVerifiedAndCounted) {
  // residual=1: input (co, h, w) -> 1x1 conv to c channels -> the conv -> + the input, fused.
  const json j = bench_json("bench-op --device 0 --op conv2d --shape c=4,h=6,w=8,co=8,k=3,residual=1 --order both "
                            "--warmup 0 --reps 1 --peak none", "op-residual.json");
  ASSERT_FALSE(j.is_null());
  for (const char* m : {"fixed/muladd/preserve", "free"}) expect_verified(j, m);
  for (const json& m : j["modes"]) {
    ASSERT_EQ(m["layers"].size(), 2u);
    const json& squeeze = m["layers"][0];
    const json& conv = m["layers"][1];
    EXPECT_EQ(squeeze["macs"], 6u * 8 * 8 * 4);
    EXPECT_EQ(conv["kind"], "Conv2d+Add");
    EXPECT_EQ(conv["macs"], 6u * 8 * 4 * 8 * 9);
    // Input, weights, bias and the residual read; the sum written once.
    EXPECT_EQ(conv["bytes_read"], 4u * (4 * 48 + 8 * 4 * 9 + 8 + 8 * 48));
    EXPECT_EQ(conv["bytes_written"], 4u * 8 * 48);
    EXPECT_NE(conv["kernels"][0].get<std::string>().find("+ residual"), std::string::npos) << conv["kernels"][0];
  }
}

TEST(BenchOp, HostTimingHasTotalsButNoPerLayerTimes) {
  const json j = bench_json("bench-op --device 0 --op maxpool --shape c=3,h=8,w=8,k=2 --host-timing --warmup 0 "
                            "--reps 2 --peak none", "host.json");
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["timing"]["source"], "host");
  for (const json& m : j["modes"]) {
    EXPECT_TRUE(m["totals"]["gpu_ms"].is_null());
    EXPECT_TRUE(m["totals"]["compute_ms"]["median"].is_number());
    ASSERT_EQ(m["layers"].size(), 1u);
    EXPECT_TRUE(m["layers"][0]["ms"].is_null());
  }
  expect_verified(j, "fixed/muladd/preserve");
}

// Verification itself: a network's real layer outputs pass; one flipped bit in one layer fails,
// naming that layer.
TEST(BenchVerify, OneFlippedBitInOneLayerFailsAndNamesTheLayer) {
  ContextOptions co;
  Context ctx(co);
  Device device(ctx, 0);
  graph::Network net = bench::make_op_network("conv2d", "c=3,h=10,w=10,co=9,k=3,relu=0");
  graph::Layer pool;
  pool.name = "after";
  pool.kind = graph::LayerKind::MaxPool;
  pool.kh = pool.kw = pool.stride_h = pool.stride_w = 2;
  net.add(pool);
  models::init_synthetic(net, 3, 1.0);
  graph::prepare(net);
  const std::vector<float> x(300, 0.5f);
  for (const NumericMode m : {NumericMode{}, NumericMode{Order::Free}}) {
    graph::CompiledNetwork c(device, net, {1, m, true, false, false});
    const std::vector<float> y = c.run(x);
    std::vector<std::vector<float>> layers;
    for (uint32_t i = 0; i < net.layers.size(); ++i) layers.push_back(c.layer_output(i));
    const bench::Verification ok = bench::check_layers(net, m, 1, layers, y);
    EXPECT_TRUE(ok.passed) << ok.first_failure;
    // Channel 0 is always sampled. Fixed order: the lowest mantissa bit; free order: a change
    // far beyond the tolerance.
    if (m.fixed()) {
      uint32_t bits;
      std::memcpy(&bits, &layers[1][5], 4);
      bits ^= 1u;
      std::memcpy(&layers[1][5], &bits, 4);
    } else {
      layers[1][5] += 1.0f;
    }
    const bench::Verification bad = bench::check_layers(net, m, 1, layers, y);
    EXPECT_FALSE(bad.passed) << describe(m);
    EXPECT_NE(bad.first_failure.find("'conv2d'"), std::string::npos) << bad.first_failure;
  }
  EXPECT_EQ(ctx.validation_log().errors.load(), 0u);
}

TEST(BenchCli, BadInputFailsWithAClearMessage) {
  const auto wrong = scratch() / "wrong-version.json";
  std::ofstream(wrong) << R"({"kind": "lockstep-peak", "schema_version": 99})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"bench-op --device 0 --op conv2d --shape c=8,h=x,w=8,co=8", "value of 'h' is 'x', expected a non-negative integer"},
      {"bench-op --device 0 --op conv2d --shape c=8,h=8,w=8,co=8,q=1", "unknown key 'q'"},
      {"bench-op --device 0 --op conv2d --shape c=8,h=8,w=8", "missing key 'co'"},
      {"bench-op --device 0 --op nosuch --shape c=1", "--op 'nosuch': expected conv2d"},
      {"bench-op --device 0 --op conv2d --shape c=4,h=8,w=8,co=8,s=2,residual=1", "residual=1 needs s=1"},
      {"bench --device 0 --model resnet18 --order sideways", "--order 'sideways': expected fixed, free or both"},
      {"bench --device 0 --model resnet18 --verify maybe", "--verify 'maybe': expected sampled, full or none"},
      {"bench --device 0 --model resnet18 --weights model.onnx", "bench takes random:SEED"},
      {"bench --device 0 --model resnet18 --peak /nonexistent/peak.json", "cannot open the file"},
      {"bench --device 0 --model resnet18 --peak " + wrong.string(), "field 'schema_version' is 99, expected 1"},
      {"peak --device 0 --chains 3", "3 chains: expected 1, 2, 4, 8 or 16"},
  };
  for (const auto& [args, message] : cases) {
    const Result r = cli(args);
    EXPECT_NE(r.status, 0) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << args << "\n" << r.out;
  }
}

TEST(BenchSchemaDoc, BothSectionsExist) {
  // expect_schema relies on these headings; make a renamed heading fail loudly.
  EXPECT_GT(documented("lockstep peak --json").count("fp32_gflops"), 0u);
  EXPECT_GT(documented("lockstep bench --json").count("modes[].layers[].kernels[]"), 0u);
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  std::error_code ec;
  std::filesystem::remove_all(scratch(), ec);
  return rc;
}
