#include "bench/peak.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "bench/stats.hpp"
#include "vk/sequence.hpp"

namespace lockstep::bench {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Push constants of shaders/peak_mad.glsl.
struct MadPush {
  uint32_t iters;
  float mul, add, start;
};
constexpr float kMul = 0.5f, kAdd = 0.5f, kStart = 0.03125f;
constexpr uint32_t kStepsPerIter = 4;
// Invocations per dispatch: enough to fill a large GPU (an H100 runs ~270k threads at once);
// a CPU driver just loops over them.
constexpr uint64_t kMadInvocations = 1u << 18;

bool use_timestamps(const Device& d, bool host_timing) { return d.traits().timestamps && !host_timing; }

// Runs a recorded one-dispatch sequence and returns its time: the dispatch's GPU timestamps,
// or the host's wall clock around submit-and-wait.
double timed_submit(Sequence& seq, bool timestamps) {
  const auto t0 = Clock::now();
  seq.submit();
  const double host = ms_since(t0);
  if (!timestamps) return host;
  const auto t = seq.timings();
  if (t.empty()) throw std::runtime_error("peak: the device returned no timestamps");
  return t.front().ms;
}

// The checksum invocation `gid` must write: the shader's recurrence on the host. Multiply then
// add is exact here (the engine is built with -ffp-contract=off); fma() may or may not be fused
// on the device, and fp16 rounds differently, hence the tolerance of the caller.
double expected_checksum(uint64_t gid, const MadVariant& v) {
  const float s = kStart * float(gid % 16);
  double sum = 0.0;
  for (uint32_t k = 0; k < v.chains; ++k) {
    float a = s + 0.0625f * float(k);
    for (uint64_t i = 0; i < v.iters * kStepsPerIter; ++i) a = v.fma ? std::fma(a, kMul, kAdd) : a * kMul + kAdd;
    sum += double(a) * v.width;
  }
  return sum;
}

std::string shader_of(const MadVariant& v) {
  return "peak_" + v.precision + (v.width == 4 ? "_vec4" : "_scalar");
}

// The multiply-add kernel of variant v and its workgroup count; sets v.invocations.
const Kernel& mad_kernel(Device& device, MadVariant& v, uint64_t* groups) {
  KernelDesc desc;
  desc.shader = shader_of(v);
  desc.bindings = 1;
  desc.push_bytes = sizeof(MadPush);
  desc.workgroup_size = std::min<uint32_t>(64, device.traits().max_workgroup_invocations);
  desc.spec = {{10, v.chains}, {11, v.fma ? 1u : 0u}};
  *groups = kMadInvocations / desc.workgroup_size;
  v.invocations = *groups * desc.workgroup_size;
  return device.kernel(desc);
}

// Every invocation's checksum in `out` equals the host's replay of the recurrence; else the
// first invocation that differs.
std::optional<uint64_t> wrong_checksum(Device& device, const Buffer& out, const MadVariant& v) {
  const auto got = device.download_all<float>(out, v.invocations);
  const double tol = v.precision == "fp16" ? 1e-2 : 1e-5;
  double expect[16];
  for (uint32_t g = 0; g < 16; ++g) expect[g] = expected_checksum(g, v);
  for (uint64_t g = 0; g < v.invocations; ++g)
    if (!(std::fabs(double(got[g]) - expect[g % 16]) <= tol * std::fabs(expect[g % 16]))) return g;
  return std::nullopt;
}

void measure_variant(Device& device, MadVariant& v, const PeakOptions& o) {
  const bool ts = use_timestamps(device, o.host_timing);
  uint64_t groups = 0;
  const Kernel& kernel = mad_kernel(device, v, &groups);
  Buffer out = device.create_buffer(v.invocations * 4);
  auto make = [&](uint32_t iters) {
    auto seq = std::make_unique<Sequence>(device, ts);
    seq->dispatch(kernel, {{&out}}, MadPush{iters, kMul, kAdd, kStart}, groups, "peak");
    return seq;
  };

  // Warm-up (absorbs a lazy shader compile), then grow the work until one dispatch takes a
  // sizeable part of the target, then scale it to the target.
  uint64_t iters = 4;
  timed_submit(*make(1), ts);
  double ms = timed_submit(*make(static_cast<uint32_t>(iters)), ts);
  while (ms < o.target_ms / 8 && iters < (1u << 28)) {
    const double grow = std::clamp(o.target_ms / 4 / std::max(ms, 1e-3), 2.0, 256.0);
    iters = static_cast<uint64_t>(std::ceil(double(iters) * grow));
    ms = timed_submit(*make(static_cast<uint32_t>(iters)), ts);
  }
  // Launch costs make small dispatches look slow: rescale until a dispatch is near the target.
  for (int round = 0; round < 3; ++round) {
    iters = std::clamp<uint64_t>(static_cast<uint64_t>(double(iters) * o.target_ms / std::max(ms, 1e-3)), 1, 1u << 30);
    ms = timed_submit(*make(static_cast<uint32_t>(iters)), ts);
    if (ms > 0.7 * o.target_ms && ms < 1.5 * o.target_ms) break;
  }
  v.iters = iters;
  v.flops = double(v.invocations) * double(iters) * kStepsPerIter * v.chains * v.width * 2.0;

  auto seq = make(static_cast<uint32_t>(iters));
  timed_submit(*seq, ts);  // warm-up at the final size
  std::vector<double> times;
  for (uint32_t r = 0; r < std::max<uint32_t>(1, o.reps); ++r) times.push_back(timed_submit(*seq, ts));
  const Stats st = stats_of(times);
  v.best_ms = st.min;
  v.median_ms = st.median;
  v.gflops = v.flops / (v.best_ms * 1e6);
  v.median_gflops = v.flops / (v.median_ms * 1e6);

  v.verified = !wrong_checksum(device, out, v);
}

// A copy's figures from its timed runs: `bytes` per buffer, read and written.
CopyResult copy_result(std::string method, uint64_t bytes, const std::vector<double>& times) {
  CopyResult c;
  c.method = std::move(method);
  c.bytes = bytes;
  const Stats st = stats_of(times);
  c.best_ms = st.min, c.median_ms = st.median;
  c.gbps = 2.0 * double(bytes) / (c.best_ms * 1e6);
  c.median_gbps = 2.0 * double(bytes) / (c.median_ms * 1e6);
  return c;
}

// `per_invocation` vec4s per invocation, with a grid stride: consecutive invocations touch
// consecutive addresses at every step (coalesced on GPUs), and a CPU driver, which pays per
// invocation, gets a longer loop.
CopyResult measure_shader_copy(Device& device, Buffer& src, Buffer& dst, uint64_t bytes, uint32_t per_invocation,
                               const PeakOptions& o) {
  const bool ts = use_timestamps(device, o.host_timing);
  KernelDesc desc;
  desc.shader = "peak_copy";
  desc.bindings = 2;
  desc.push_bytes = 4;
  desc.workgroup_size = std::min<uint32_t>(64, device.traits().max_workgroup_invocations);
  const Kernel& kernel = device.kernel(desc);
  const uint32_t count = static_cast<uint32_t>(bytes / 16);
  const uint64_t per_group = uint64_t(desc.workgroup_size) * per_invocation;
  const uint64_t groups = (count + per_group - 1) / per_group;
  Sequence seq(device, ts);
  seq.dispatch(kernel, {{&src, 0, bytes}, {&dst, 0, bytes}}, count, groups, "peak copy");
  timed_submit(seq, ts);  // warm-up
  std::vector<double> times;
  for (uint32_t r = 0; r < std::max<uint32_t>(3, 3 * o.reps); ++r) times.push_back(timed_submit(seq, ts));
  return copy_result("shader, " + std::to_string(per_invocation) + " vec4/invocation", bytes, times);
}

CopyResult measure_transfer_copy(Device& device, Buffer& src, Buffer& dst, uint64_t bytes, const PeakOptions& o) {
  const bool ts = use_timestamps(device, o.host_timing);
  vk::raii::QueryPool queries{nullptr};
  if (ts) queries = vk::raii::QueryPool(device.device(), vk::QueryPoolCreateInfo({}, vk::QueryType::eTimestamp, 2));
  auto cb = device.allocate_command_buffer();
  cb.begin(vk::CommandBufferBeginInfo());
  if (ts) {
    cb.resetQueryPool(*queries, 0, 2);
    cb.writeTimestamp(vk::PipelineStageFlagBits::eTopOfPipe, *queries, 0);
  }
  cb.copyBuffer(src.handle(), dst.handle(), vk::BufferCopy(0, 0, bytes));
  if (ts) cb.writeTimestamp(vk::PipelineStageFlagBits::eBottomOfPipe, *queries, 1);
  vk::MemoryBarrier mb(vk::AccessFlagBits::eTransferWrite, vk::AccessFlagBits::eShaderRead | vk::AccessFlagBits::eTransferRead);
  cb.pipelineBarrier(vk::PipelineStageFlagBits::eTransfer, vk::PipelineStageFlagBits::eComputeShader |
                     vk::PipelineStageFlagBits::eTransfer, {}, mb, {}, {});
  cb.end();
  const auto& t = device.traits();
  auto once = [&] {
    const auto t0 = Clock::now();
    device.submit_and_wait(*cb, "a timed buffer copy");
    const double host = ms_since(t0);
    if (!ts) return host;
    uint64_t stamps[2] = {0, 0};
    const auto r = (*device.device()).getQueryPoolResults(*queries, 0, 2, sizeof stamps, stamps, 8, vk::QueryResultFlagBits::e64);
    if (r != vk::Result::eSuccess) throw std::runtime_error("peak: vkGetQueryPoolResults returned no timestamps");
    const uint64_t mask = t.timestamp_valid_bits >= 64 ? ~0ull : ((1ull << t.timestamp_valid_bits) - 1);
    return double((stamps[1] - stamps[0]) & mask) * t.timestamp_period_ns * 1e-6;
  };
  once();  // warm-up
  std::vector<double> times;
  for (uint32_t r = 0; r < std::max<uint32_t>(3, 3 * o.reps); ++r) times.push_back(once());
  return copy_result("vkCmdCopyBuffer", bytes, times);
}

}  // namespace

struct PeakProbe::Impl {
  struct Part {
    MadVariant v;
    std::unique_ptr<Buffer> out;
    std::unique_ptr<Sequence> seq;
  };
  Device* device = nullptr;
  bool ts = false;
  double target_ms = 0;
  std::vector<Part> parts;
};

PeakProbe::PeakProbe(Device& device, double target_ms, bool host_timing) : impl_(std::make_unique<Impl>()) {
  Impl& im = *impl_;
  im.device = &device;
  im.ts = use_timestamps(device, host_timing);
  im.target_ms = target_ms;
  PeakOptions o;
  o.target_ms = target_ms;
  o.reps = 1;
  o.host_timing = host_timing;
  for (uint32_t chains : {8u, 16u}) {
    Impl::Part p;
    p.v.precision = "fp32", p.v.width = 4, p.v.chains = chains, p.v.fma = false;
    measure_variant(device, p.v, o);  // calibrates v.iters (and checks one run)
    if (!p.v.verified) throw std::runtime_error("peak probe: the checksum of " + p.v.name() + " is wrong");
    uint64_t groups = 0;
    const Kernel& kernel = mad_kernel(device, p.v, &groups);
    p.out = std::make_unique<Buffer>(device.create_buffer(p.v.invocations * 4));
    p.seq = std::make_unique<Sequence>(device, im.ts);
    p.seq->dispatch(kernel, {{p.out.get()}}, MadPush{static_cast<uint32_t>(p.v.iters), kMul, kAdd, kStart}, groups,
                    "peak probe");
    im.parts.push_back(std::move(p));
  }
}

PeakProbe::~PeakProbe() = default;

double PeakProbe::sample() {
  double best = 0;
  for (Impl::Part& p : impl_->parts) best = std::max(best, p.v.flops / (timed_submit(*p.seq, impl_->ts) * 1e6));
  return best;
}

void PeakProbe::verify() const {
  for (const Impl::Part& p : impl_->parts)
    if (auto g = wrong_checksum(*impl_->device, *p.out, p.v))
      throw std::runtime_error("peak probe: the checksum of " + p.v.name() + " is wrong at invocation " +
                               std::to_string(*g));
}

std::string PeakProbe::name() const {
  return "fp32 vec4 8|16 chains mul+add, " + std::to_string(static_cast<int>(impl_->target_ms)) + " ms dispatches";
}

std::string MadVariant::name() const {
  return precision + (width == 4 ? " vec4 " : " scalar ") + std::to_string(chains) + (chains == 1 ? " chain " : " chains ") +
         (fma ? "fma" : "mul+add");
}

bool cacheable(const PeakOptions& o) {
  const PeakOptions full;
  for (uint32_t c : full.chains)
    if (std::find(o.chains.begin(), o.chains.end(), c) == o.chains.end()) return false;
  return o.target_ms >= 50.0 && !o.host_timing && o.scalar && o.fma && o.copy_bytes >= full.copy_bytes;
}

PeakOptions quick_peak_options() {
  PeakOptions o;
  o.target_ms = 50.0;
  o.reps = 2;
  o.chains = {2, 4, 8};
  o.fp16 = false;
  o.scalar = false;
  return o;
}

PeakResult measure_peak(Device& device, const PeakOptions& o) {
  for (uint32_t c : o.chains)
    if (c != 1 && c != 2 && c != 4 && c != 8 && c != 16)
      throw std::invalid_argument("peak: " + std::to_string(c) + " chains: expected 1, 2, 4, 8 or 16");
  if (!(o.target_ms > 0.0)) throw std::invalid_argument("peak: the target time per dispatch must be > 0 ms");
  const auto t0 = Clock::now();
  PeakResult r;
  r.timing = use_timestamps(device, o.host_timing) ? "gpu_timestamps" : "host";
  std::vector<std::string> precisions = {"fp32"};
  r.fp16_supported = device.traits().shader_float16;
  if (o.fp16 && r.fp16_supported) precisions.push_back("fp16");
  for (const std::string& p : precisions)
    for (uint32_t width : {4u, 1u}) {
      if (width == 1 && !o.scalar) continue;
      for (bool fma : {false, true}) {
        if (fma && !o.fma) continue;
        for (uint32_t chains : o.chains) {
          MadVariant v;
          v.precision = p, v.width = width, v.chains = chains, v.fma = fma;
          measure_variant(device, v, o);
          if (!v.verified) throw std::runtime_error("peak: the checksum of " + v.name() + " is wrong on " + device.traits().name);
          r.variants.push_back(v);
        }
      }
    }
  for (const MadVariant& v : r.variants) {
    if (v.precision == "fp32") {
      if (v.gflops > r.fp32_gflops) r.fp32_gflops = v.gflops, r.fp32_best_variant = v.name();
      double& best = v.width == 4 ? r.fp32_vec4_gflops : r.fp32_scalar_gflops;
      best = std::max(best, v.gflops);
    } else {
      r.fp16_gflops = std::max(r.fp16_gflops.value_or(0.0), v.gflops);
    }
  }

  // Copy bandwidth over buffers that fit one binding and one allocation.
  const auto& t = device.traits();
  uint64_t bytes = std::min<uint64_t>(o.copy_bytes, t.max_storage_buffer_range);
  if (t.max_memory_allocation_size) bytes = std::min(bytes, t.max_memory_allocation_size);
  if (t.device_local_bytes) bytes = std::min(bytes, t.device_local_bytes / 4);
  bytes = std::min<uint64_t>(bytes, 1ull << 34) / 16 * 16;  // the shader counts vec4s in 32 bits
  if (bytes >= 16) {
    Buffer src = device.create_buffer(bytes), dst = device.create_buffer(bytes);
    std::vector<uint32_t> pattern(bytes / 4);
    for (uint64_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint32_t>(i * 2654435761u);
    device.upload(src, pattern.data(), bytes);
    for (uint32_t per : {1u, 4u, 16u, 0u}) {  // 0: vkCmdCopyBuffer
      device.fill_zero(dst);
      CopyResult c = per ? measure_shader_copy(device, src, dst, bytes, per, o) : measure_transfer_copy(device, src, dst, bytes, o);
      const auto back = device.download_all<uint32_t>(dst, pattern.size());
      c.verified = std::memcmp(back.data(), pattern.data(), bytes) == 0;
      if (!c.verified) throw std::runtime_error("peak: the " + c.method + " copy's destination differs from its source on " + t.name);
      r.copies.push_back(c);
    }
    for (const CopyResult& c : r.copies) {
      r.copy_gbps = std::max(r.copy_gbps, c.gbps);
      if (c.method.rfind("shader", 0) == 0) r.shader_copy_gbps = std::max(r.shader_copy_gbps, c.gbps);
    }
  }
  r.wall_s = ms_since(t0) / 1000.0;
  return r;
}

}  // namespace lockstep::bench
