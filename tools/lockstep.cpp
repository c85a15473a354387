// The lockstep command line: devices, demo (the op suite on a device), opsuite (the same as JSON).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cmd_bench.hpp"
#include "cmd_check.hpp"
#include "cmd_compare.hpp"
#include "cmd_run.hpp"
#include "conformance/op_suite.hpp"
#include "vk/context.hpp"
#include "vk/device.hpp"
#include "vk/errors.hpp"
#include "vk/pipeline_cache_file.hpp"
#include "vk/traits.hpp"
#include "util/atomic_file.hpp"
#include "util/interrupt.hpp"

using namespace lockstep;
using nlohmann::json;

namespace {

json traits_json(const DeviceTraits& t) {
  json fixed = json::object();
  for (auto mac : {MacContract::MulAdd, MacContract::Fma})
    for (auto dn : {DenormRule::Preserve, DenormRule::Ftz}) {
      const NumericMode m{Order::Fixed, mac, dn};
      const auto why = t.refusal(m);
      fixed[describe(m)] = why ? json(*why) : json("ok");
    }
  return {{"name", t.name},
          {"vendor", t.vendor},
          {"vendor_id", t.vendor_id},
          {"device_id", t.device_id},
          {"device_type", t.device_type},
          {"driver_name", t.driver_name},
          {"driver_info", t.driver_info},
          {"driver_version", t.driver_version},
          {"api_version", t.api_version},
          {"device_uuid", hex(t.device_uuid)},
          {"subgroup_size", t.subgroup_size},
          {"subgroup_size_measured", t.subgroup_size_measured},
          {"subgroup_size_range", {t.min_subgroup_size, t.max_subgroup_size}},
          {"subgroup_size_control", t.subgroup_size_control},
          {"subgroup_ops", {{"basic", t.subgroup_basic}, {"arithmetic", t.subgroup_arithmetic}, {"shuffle", t.subgroup_shuffle}}},
          {"float_controls",
           {{"denorm_preserve_f32", t.denorm_preserve_f32},
            {"denorm_flush_f32", t.denorm_flush_f32},
            {"rounding_rte_f32", t.rounding_rte_f32},
            {"rounding_rtz_f32", t.rounding_rtz_f32},
            {"signed_zero_inf_nan_preserve_f32", t.signed_zero_inf_nan_preserve_f32}}},
          {"khr_shader_fma", t.khr_shader_fma},
          {"probe",
           {{"fma_fused", t.fma_fused},
            {"fma_cases", t.fma_cases},
            {"fma_fused_cases", t.fma_fused_cases},
            {"fma_unfused_cases", t.fma_unfused_cases},
            {"denormals_preserved", t.denormals_preserved},
            {"denormal_operands_flushed", t.denormal_operands_flushed},
            {"denormal_results_flushed", t.denormal_results_flushed},
            {"rounds_nearest_even", t.rounds_nearest_even},
            {"texel_fetch_exact", t.texel_fetch_exact},
            {"texel_store_exact", t.texel_store_exact}}},
          {"limits",
           {{"max_storage_buffer_range", t.max_storage_buffer_range},
            {"max_memory_allocation_size", t.max_memory_allocation_size},
            {"max_workgroup_invocations", t.max_workgroup_invocations},
            {"max_shared_memory", t.max_shared_memory},
            {"max_texel_buffer_elements", t.max_texel_buffer_elements},
            {"device_local_bytes", t.device_local_bytes}}},
          {"timestamps", t.timestamps},
          {"fixed_contracts", fixed}};
}

json run_json(const conformance::OpRun& r) {
  json j = {{"op", r.op}, {"case", r.case_name}, {"mode", describe(r.mode)}, {"elements", r.elements}};
  if (r.refused) {
    j["refused"] = *r.refused;
    return j;
  }
  j["hash"] = r.hash;
  j["error_vs_oracle"] = {{"max_abs", r.error.max_abs}, {"rel_rms", r.error.rel_rms}, {"max_ulp", r.error.max_ulp},
                          {"nonfinite_mismatch", r.error.nonfinite_mismatch}};
  if (r.mode.fixed()) {
    j["bit_exact"] = r.bit_exact;
    j["mismatches"] = r.mismatches;
    if (r.mismatches) {
      j["first_mismatch"] = {{"index", r.first_mismatch}, {"device", r.device_value}, {"reference", r.reference_value}};
    }
  }
  return j;
}

std::string hexbits(float f) {
  char b[16];
  uint32_t u;
  std::memcpy(&u, &f, 4);
  std::snprintf(b, sizeof b, "0x%08x", u);
  return b;
}

// Raw little-endian float32 outputs, one file per run: <op>__<case>__<mode with / as _>.f32
void dump_outputs(const std::vector<conformance::OpRun>& runs, const std::string& dir) {
  std::filesystem::create_directories(dir);
  for (const auto& r : runs) {
    if (r.refused) continue;
    std::string mode = describe(r.mode);
    std::replace(mode.begin(), mode.end(), '/', '_');
    const std::string path = dir + "/" + r.op + "__" + r.case_name + "__" + mode + ".f32";
    util::write_file_atomically(path, {{reinterpret_cast<const char*>(r.output.data()), r.output.size() * 4}});
  }
}

int cmd_devices(Context& ctx, const std::string& spec, bool as_json) {
  json all = json::array();
  for (uint32_t i : ctx.select(spec)) {
    Device d(ctx, i);
    if (as_json) {
      json j = traits_json(d.traits());
      j["index"] = i;
      all.push_back(j);
    } else {
      std::cout << "device " << i << "\n" << d.traits().summary() << "\n";
    }
  }
  if (as_json) std::cout << all.dump(2) << "\n";
  return 0;
}

int cmd_opsuite(Context& ctx, const std::string& spec, const std::string& op, bool as_json, const std::string& dump_dir) {
  int failures = 0;
  json out = json::array();
  for (uint32_t i : ctx.select(spec)) {
    Device d(ctx, i);
    conformance::SuiteOptions opt;
    opt.op_filter = op;
    opt.keep_outputs = !dump_dir.empty();
    const auto runs = conformance::run_op_suite(d, opt);
    if (!dump_dir.empty()) dump_outputs(runs, dump_dir + "/device" + std::to_string(i));
    json runs_json = json::array();
    for (const auto& r : runs) {
      runs_json.push_back(run_json(r));
      if (r.mode.fixed() && !r.refused && !r.bit_exact) failures++;
    }
    if (as_json) {
      out.push_back({{"device_index", i}, {"device", traits_json(d.traits())}, {"runs", runs_json}});
      continue;
    }
    const auto& t = d.traits();
    std::printf("lockstep op suite on device %u: %s (%s), subgroup size %u\n", i, t.name.c_str(), t.driver_name.c_str(),
                t.subgroup_size_measured);
    std::printf("Fixed order must equal the CPU reference bit for bit (exact / DIFF); both orders are measured\n"
                "against a float64 oracle (relative RMS error).\n\n");
    std::printf("%-20s %-30s %-8s %-8s %-8s %-8s %-10s %-10s\n", "op", "case", "muladd", "muladd", "fma", "fma",
                "fixed err", "free err");
    std::printf("%-20s %-30s %-8s %-8s %-8s %-8s %-10s %-10s\n", "", "", "preserve", "ftz", "preserve", "ftz", "", "");
    std::map<std::string, std::string> refusals;
    size_t fixed_runs = 0, exact = 0, refused = 0;
    for (size_t k = 0; k < runs.size();) {
      const std::string op = runs[k].op, name = runs[k].case_name;
      std::string cells[4];
      double fixed_err = -1, free_err = -1;
      std::string details;
      for (; k < runs.size() && runs[k].op == op && runs[k].case_name == name; ++k) {
        const auto& r = runs[k];
        if (!r.mode.fixed()) {
          free_err = r.error.rel_rms;
          continue;
        }
        const int col = (r.mode.mac == MacContract::Fma ? 2 : 0) + (r.mode.denorm == DenormRule::Ftz ? 1 : 0);
        if (r.refused) {
          cells[col] = "refused";
          refusals[describe(r.mode)] = *r.refused;
          refused++;
          continue;
        }
        fixed_runs++;
        exact += r.bit_exact;
        cells[col] = r.bit_exact ? "exact" : "DIFF";
        if (col == 0) fixed_err = r.error.rel_rms;
        if (!r.bit_exact) {
          char line[256];
          std::snprintf(line, sizeof line, "    %s: %llu element(s) differ; first at %llu: device %s (%.9g), reference %s (%.9g)\n",
                        describe(r.mode).c_str(), static_cast<unsigned long long>(r.mismatches),
                        static_cast<unsigned long long>(r.first_mismatch), hexbits(r.device_value).c_str(),
                        r.device_value, hexbits(r.reference_value).c_str(), r.reference_value);
          details += line;
        }
      }
      std::printf("%-20s %-30s %-8s %-8s %-8s %-8s %-10.3g %-10.3g\n%s", op.c_str(), name.c_str(), cells[0].c_str(),
                  cells[1].c_str(), cells[2].c_str(), cells[3].c_str(), fixed_err, free_err, details.c_str());
    }
    std::printf("\n%zu fixed-order runs, %zu bit-exact with the CPU reference, %zu refused:\n", fixed_runs, exact, refused);
    for (const auto& [mode, why] : refusals) std::printf("  %s refused on this device: %s\n", mode.c_str(), why.c_str());
    std::printf("\n");
  }
  if (as_json) std::cout << out.dump(1) << "\n";
  return failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lockstep: the same bits on every Vulkan device, or a measure of how far they drift"};
  app.require_subcommand(0, 1);
  app.fallthrough();  // global options (--device, --validation) are accepted after the subcommand too
  std::string device_spec = "all";
  bool validation = false;
  app.add_option("--device", device_spec, "device index, vendor, name substring, or all");
  app.add_flag("--validation", validation, "enable VK_LAYER_KHRONOS_validation");

  auto* devices = app.add_subcommand("devices", "list Vulkan devices with their probed numeric traits");
  bool devices_json = false;
  devices->add_flag("--json", devices_json, "print JSON");

  auto* demo = app.add_subcommand("demo", "run every op in fixed and free order and compare with the CPU reference");
  std::string demo_op;
  demo->add_option("--op", demo_op, "only this op");

  auto* suite = app.add_subcommand("opsuite", "the op suite as JSON (hashes of every output)");
  std::string suite_op, dump_dir;
  suite->add_option("--op", suite_op, "only this op");
  suite->add_option("--dump", dump_dir, "also write every output as raw float32 under DIR/device<N>/");

  auto* run = app.add_subcommand("run", "classify images (or .npy tensors) with a VGG or ResNet model, per device");
  cli::RunOptions ro;
  cli::add_model_options(*run, ro);
  run->add_option("--order", ro.order, "fixed or free")->capture_default_str();
  run->add_option("--contract", ro.contract, "muladd or fma (fixed order)")->capture_default_str();
  run->add_option("--denormals", ro.denormals, "preserve or ftz (fixed order)")->capture_default_str();
  run->add_option("--top", ro.top, "classes to print")->capture_default_str();
  run->add_option("--save", ro.save, "write outputs to a safetensors result file");
  run->add_flag("--layers", ro.layers, "with --save: every layer's output too");
  run->add_flag("--fingerprint", ro.fingerprint, "print a 128-bit hash (XXH3-128) of the output");
  run->add_flag("--check", ro.check, "compare with the CPU reference (fixed: bit for bit, every layer; free: float64)");
  run->add_flag("--profile", ro.profile, "print the GPU time of every dispatch (timestamps)");
  run->add_flag("--reference", ro.reference, "run the CPU reference (canonical float32, any fixed contract) instead of a device");

  auto* exp = app.add_subcommand("export", "write a built-in model with synthetic weights as ONNX (.onnx) or Keras (.h5)");
  cli::RunOptions eo;
  std::string export_path;
  exp->add_option("--model", eo.model, "architecture")->capture_default_str();
  exp->add_option("--layout", eo.layout, "keras or torch")->capture_default_str();
  exp->add_option("--weights", eo.weights, "random:SEED")->capture_default_str();
  exp->add_option("--input-size", eo.input_size, "square input size")->capture_default_str();
  exp->add_option("--preprocess", eo.preprocess, "keras or torch: the input range the synthetic weights expect");
  exp->add_option("file", export_path, "output file: NAME.onnx or NAME.h5")->required();

  auto* cmp = app.add_subcommand("compare", "compare result files (lockstep run --save) made on any machines: "
                                            "fixed order must be bit-identical, free order is measured");
  std::vector<std::string> compare_files;
  cli::CompareOptions compare_options;
  cmp->add_option("files", compare_files, "two or more result files (safetensors)");
  cmp->add_option("--json", compare_options.json, "write the comparison as JSON to FILE ('-': to stdout, instead of the table)");
  cmp->add_option("--html", compare_options.html, "write a self-contained HTML report to FILE");
  cmp->add_flag("--quiet", compare_options.quiet, "print only the verdict line");
  cmp->add_flag("--allow-different-inputs", compare_options.allow_different_inputs,
                "also compare files whose input, preprocessing or dropout differ (flagged, never a failure)");

  auto* chk = app.add_subcommand("check", "run a model on every device and on the CPU reference, fixed and free "
                                          "order: fixed must be bit-identical everywhere, free order is measured");
  cli::CheckOptions check_options;
  cli::add_check_options(*chk, check_options);

  auto* pk = app.add_subcommand("peak", "measure the device's fp32/fp16 multiply-add rate and copy bandwidth (cached for bench)");
  cli::PeakCliOptions po;
  pk->add_option("--json", po.json, "write JSON to FILE ('-': to stdout, instead of the table)");
  pk->add_option("--ms", po.ms, "work per timed dispatch in ms")->capture_default_str();
  pk->add_option("--reps", po.reps, "timed dispatches per variant")->capture_default_str();
  pk->add_option("--chains", po.chains, "independent chains per invocation (1, 2, 4, 8, 16)")->delimiter(',');
  pk->add_flag("--no-fp16", po.no_fp16, "skip the fp16 variants");
  pk->add_flag("--host-timing", po.host_timing, "time with the host clock instead of GPU timestamps");
  pk->add_option("--copy-mib", po.copy_mib, "size of each copy buffer in MiB")->capture_default_str();

  cli::BenchCliOptions bo, bop;
  auto bench_options = [](CLI::App* c, cli::BenchCliOptions& b) {
    c->add_option("--batch", b.batch, "inputs per run")->capture_default_str();
    c->add_option("--order", b.order, "fixed, free or both")->capture_default_str();
    c->add_option("--contract", b.contract, "muladd or fma (fixed order)")->capture_default_str();
    c->add_option("--denormals", b.denormals, "preserve, ftz or both (fixed order)")->capture_default_str();
    c->add_option("--weights", b.weights, "random:SEED (synthetic weights)")->capture_default_str();
    c->add_option("--warmup", b.warmup, "untimed runs after the verified first run")->capture_default_str();
    c->add_option("--reps", b.reps, "timed runs")->capture_default_str();
    c->add_option("--verify", b.verify, "sampled (every layer, full size, sampled channels), full (whole output) or none")
        ->capture_default_str();
    c->add_option("--peak", b.peak, "auto (cached `lockstep peak`, else a quick measurement), measure, none, or a "
                                    "`lockstep peak --json` FILE")->capture_default_str();
    c->add_flag("--host-timing", b.host_timing, "time with the host clock instead of GPU timestamps");
    c->add_flag("--sequential", b.sequential,
                "time each mode's runs in a row (default: the modes take turns, run by run, in an order that "
                "changes every round, so that a host whose speed drifts slows them alike; needs every mode's "
                "network in memory at once)");
    c->add_option("--json", b.json, "write JSON to FILE ('-': to stdout, instead of the tables)");
  };
  auto* bn = app.add_subcommand("bench", "time a built-in model per layer in fixed and free order (GPU timestamps)");
  bn->add_option("--model", bo.model, "vgg11|vgg13|vgg16|vgg19[_bn]|resnet18|resnet34|resnet50|resnet101|resnet152")
      ->capture_default_str();
  bn->add_option("--layout", bo.layout, "keras or torch")->capture_default_str();
  bn->add_option("--input-size", bo.input_size, "square input size, >= 32")->capture_default_str();
  bench_options(bn, bo);
  auto* bop_cmd = app.add_subcommand("bench-op", "time one op at a given shape in fixed and free order");
  bop_cmd->add_option("--op", bop.op, "conv2d, dense, maxpool, avgpool, gap, add, relu or softmax")->required();
  bop_cmd->add_option("--shape", bop.shape, "key=value,...: conv2d c,h,w,co,k,s,p[,kh,kw,bias,relu,residual] "
                                            "(residual=1: input co channels, a 1x1 conv to c, the conv, + the input "
                                            "fused); dense in,out; maxpool/avgpool c,h,w,k,s,p; gap/add/relu c,h,w; "
                                            "softmax n")->required();
  bench_options(bop_cmd, bop);

  CLI11_PARSE(app, argc, argv);
  // Ctrl-C and SIGTERM stop a run between steps, cleanly (util/interrupt.hpp): exit 128 + signal.
  interrupt::install_handlers();
  // compare reads files only: no Vulkan instance, so it runs on machines without a device.
  if (*cmp) return cli::compare(compare_files, compare_options);
  if (*chk) {  // creates its own Vulkan instance where it needs one (not with --variant)
    check_options.device = device_spec;
    check_options.validation = validation;
    const int rc = cli::check(check_options);
    return interrupt::requested() ? 128 + interrupt::requested() : rc;  // check reports the interrupt itself
  }
  if (*run && ro.reference) {  // the CPU reference alone: no Vulkan either
    try {
      return cli::run(nullptr, ro);
    } catch (const interrupt::Interrupted& e) {
      std::fprintf(stderr, "lockstep: %s: stopped cleanly\n", e.what());
      return 128 + e.signal();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lockstep: error: %s\n", e.what());
      return 2;
    }
  }
  try {
    ContextOptions co;
    co.validation = validation;
    Context ctx(co);
    int rc = 0;
    if (*devices) rc = cmd_devices(ctx, device_spec, devices_json);
    else if (*exp) rc = cli::export_model(eo, export_path);
    else if (*run) {
      ro.device = device_spec;
      rc = cli::run(&ctx, ro);
    }
    else if (*suite) rc = cmd_opsuite(ctx, device_spec, suite_op, true, dump_dir);
    else if (*pk) {
      po.device = device_spec;
      rc = cli::peak(ctx, po);
    } else if (*bn || *bop_cmd) {
      cli::BenchCliOptions& b = *bn ? bo : bop;
      b.device = device_spec;
      b.op_mode = bool(*bop_cmd);
      rc = cli::bench(ctx, b);
    }
    else rc = cmd_opsuite(ctx, device_spec, demo_op, false, "");  // demo is the default
    if (ctx.validation_log().errors > 0) {
      std::fprintf(stderr, "lockstep: %u Vulkan validation error(s)\n", ctx.validation_log().errors.load());
      rc = rc ? rc : 3;
    }
    if (pipeline_cache_save_failures() > 0) {
      std::fprintf(stderr, "lockstep: error: the pipeline cache could not be saved (see above); the results are complete\n");
      rc = rc ? rc : 4;
    }
    return rc;
  } catch (const interrupt::Interrupted& e) {
    std::fprintf(stderr, "lockstep: %s: stopped cleanly; no result file was written by the interrupted step\n", e.what());
    return 128 + e.signal();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lockstep: error: %s\n", vk_errors::describe(e).c_str());
    return 2;
  }
}
