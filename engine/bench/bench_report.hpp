// Text tables and JSON (docs/bench-schema.md, schema_version 1) for `lockstep peak`, `bench`
// and `bench-op`, and the on-disk cache of peak results that `bench` reads.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "bench/bench.hpp"
#include "bench/peak.hpp"
#include "vk/traits.hpp"

namespace lockstep::bench {

inline constexpr int kSchemaVersion = 1;

// The peak a bench report measures against, and where it came from.
struct PeakSource {
  std::string source;  // "measured" (in this process), "cache", "file" or "none"
  std::string path;    // cache or file path
  std::string measured_at;  // UTC time of the measurement (ISO 8601), when known
  std::optional<PeakResult> peak;
};

// What was benchmarked: a built-in model or one op.
struct Workload {
  std::string command;  // "bench" or "bench-op"
  std::string model, layout, weights;  // bench
  uint32_t input_size = 0;
  std::string op, shape;  // bench-op
};

nlohmann::json device_json(const DeviceTraits& t);
// CPUs and the load average (Linux /proc/loadavg; null elsewhere): on a shared machine a
// measurement is only as good as the machine was quiet.
nlohmann::json host_json();
std::string host_text();
nlohmann::json peak_json(const PeakResult& p, const DeviceTraits& t, const std::string& measured_at);
// Reads a peak JSON (as peak_json writes it); throws std::invalid_argument naming `origin`,
// the field and what was expected.
PeakResult peak_from_json(const nlohmann::json& j, const std::string& origin);
std::string peak_text(const PeakResult& p, const DeviceTraits& t);

// $LOCKSTEP_CACHE_DIR (or the default cache directory)/peak-<vendor>-<device>-<driver>-sg<N>.json;
// empty when the cache is off. The subgroup size is in the name because a CPU driver's vector
// width changes both.
std::filesystem::path peak_cache_path(const DeviceTraits& t);
// The cached result for this device and driver, or nullopt (a stale or unreadable file is
// ignored with a warning in `warning`).
std::optional<PeakSource> load_peak_cache(const DeviceTraits& t, std::string* warning);
void save_peak_cache(const DeviceTraits& t, const nlohmann::json& peak);
// A peak file given by the user: must parse; a different device is only warned about.
PeakSource load_peak_file(const std::string& path, const DeviceTraits& t, std::string* warning);

std::string utc_now();

nlohmann::json bench_json(const BenchResult& r, const Workload& w, const DeviceTraits& t, const PeakSource& peak,
                          const graph::Network& net);
std::string bench_text(const BenchResult& r, const Workload& w, const DeviceTraits& t, const PeakSource& peak,
                       const graph::Network& net);

}  // namespace lockstep::bench
