// `lockstep peak`, `lockstep bench` and `lockstep bench-op` (engine/bench does the work).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vk/context.hpp"

namespace lockstep::cli {

struct PeakCliOptions {
  std::string device = "all";
  std::string json;          // file, or "-" for stdout (instead of the table)
  double ms = 100.0;         // work per timed dispatch
  uint32_t reps = 3;
  std::vector<uint32_t> chains = {1, 2, 4, 8, 16};
  bool no_fp16 = false;
  bool host_timing = false;
  uint32_t copy_mib = 64;
};

struct BenchCliOptions {
  std::string device = "all";
  bool op_mode = false;            // bench-op
  std::string model = "resnet50", layout = "keras", weights = "random:1";
  uint32_t input_size = 224;
  std::string op, shape;           // bench-op
  uint32_t batch = 1;
  std::string order = "both";      // fixed | free | both
  std::string contract = "muladd"; // fixed order's MAC contract
  std::string denormals = "preserve";  // preserve | ftz | both (fixed order)
  uint32_t warmup = 2, reps = 5;
  std::string verify = "sampled";  // sampled | full | none
  std::string peak = "auto";       // auto (cache, else a quick measurement) | measure | none | FILE
  bool host_timing = false;
  bool sequential = false;         // time each mode's reps in a row instead of in turns
  std::string json;                // file, or "-" for stdout (instead of the tables)
};

int peak(Context& ctx, const PeakCliOptions& options);
// Writes `j` to the --json path (NAME.device<N>.json when several devices are measured),
// atomically: a reader sees the old file or the whole new one. Returns the path written.
std::string write_json_for_device(const nlohmann::json& j, const std::string& json_option, uint32_t device,
                                  size_t devices);
int bench(Context& ctx, const BenchCliOptions& options);

}  // namespace lockstep::cli
