#include "vk/probe.hpp"

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>

#include "vk/device.hpp"
#include "vk/sequence.hpp"

namespace lockstep {

namespace {
struct Case {
  float a, b, c;
};
bool same_bits(float x, float y) { return std::bit_cast<uint32_t>(x) == std::bit_cast<uint32_t>(y); }

// The bit patterns a texture unit might change: denormals, -0, infinities, quiet and
// signalling NaNs with payloads, extremes.
const std::vector<uint32_t> kTexelProbeBits = {
    0x00000000u, 0x80000000u, 0x00000001u, 0x80000001u, 0x007fffffu, 0x807fffffu, 0x00400000u, 0x00800000u,
    0x7f7fffffu, 0xff7fffffu, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffc00000u, 0x7fc00001u, 0x7fa00001u,
    0xff812345u, 0x7f800001u, 0x3f800000u, 0xbf800000u, 0x3eaaaaabu, 0x00000100u, 0x8000abcdu, 0x40490fdbu};

// Copies kTexelProbeBits through `shader` (binding 0 in, binding 1 out, one texel per
// invocation): a texel fetch from binding 0, or with `store` a texel store to binding 1. True
// when every bit survives.
bool probe_texel_copy(Device& device, const char* shader, bool store) {
  const std::vector<uint32_t>& bits = kTexelProbeBits;
  const uint32_t texels = static_cast<uint32_t>(bits.size() / 4);
  Buffer in = device.upload_new<uint32_t>(bits);
  Buffer out = device.create_buffer(bits.size() * 4);
  KernelDesc d{shader, 2, 4, 64, {}, false};
  if (store) d.store_texel_bindings = 0b10;
  else d.texel_bindings = 0b01;
  const Kernel& k = device.kernel(d);
  {
    Sequence seq(device);
    seq.dispatch(k, {{&in}, {&out}}, texels, 1, shader);
    seq.submit();
  }
  return device.download_all<uint32_t>(out, bits.size()) == bits;
}
}  // namespace

void probe_device(Device& device, DeviceTraits& t) {
  std::vector<Case> cases;
  std::mt19937 rng(12345);
  std::uniform_real_distribution<float> u(1.0f, 2.0f);
  // 1) fma fusion: c = -round(a*b), so a fused fma returns the product's rounding error
  //    and two roundings return 0.
  const size_t fma_begin = cases.size();
  for (int i = 0; i < 512; ++i) {
    const float a = u(rng), b = u(rng);
    const float c = -(a * b);
    if (std::fma(a, b, c) != (a * b) + c) cases.push_back({a, b, c});
  }
  const size_t fma_end = cases.size();
  // 2) denormals: operand kept? result kept?
  const float den = 1e-40f;
  const size_t den_begin = cases.size();
  cases.push_back({den, 1.0f, 0.0f});                          // denormal operand -> denormal result
  cases.push_back({den, 0x1p100f, 0.0f});                     // denormal operand -> normal product
  cases.push_back({FLT_MIN, 0.25f, 0.0f});                     // normal operands -> denormal product
  cases.push_back({1.5f * FLT_MIN, 1.0f, -FLT_MIN});           // normal operands -> denormal sum
  const size_t den_end = cases.size();
  // 3) rounding of add and mul, ties included.
  const size_t rnd_begin = cases.size();
  cases.push_back({1.0f, 1.0f, 0x1p-24f});
  cases.push_back({1.0f + 0x1p-23f, 1.0f, 0x1p-24f});
  cases.push_back({1.0f, 1.0f, 3.0f * 0x1p-25f});
  cases.push_back({-1.0f, 1.0f, -3.0f * 0x1p-25f});
  for (int i = 0; i < 256; ++i) cases.push_back({u(rng), u(rng), u(rng) * 0x1p-20f});
  const size_t rnd_end = cases.size();

  const uint32_t count = static_cast<uint32_t>(cases.size());
  std::vector<float> in(3 * count);
  std::memcpy(in.data(), cases.data(), in.size() * 4);
  Buffer in_buf = device.upload_new<float>(in);
  Buffer out_buf = device.create_buffer(uint64_t(count) * 16);
  Buffer info_buf = device.create_buffer(16);
  device.fill_zero(info_buf);
  const Kernel& k = device.kernel({"probe", 3, 4, 64, {}, false});
  {
    Sequence seq(device);
    seq.dispatch(k, {{&in_buf}, {&out_buf}, {&info_buf}}, count, (count + 63) / 64, "probe");
    seq.submit();
  }
  const auto out = device.download_all<float>(out_buf, uint64_t(count) * 4);
  const auto info = device.download_all<uint32_t>(info_buf, 4);
  t.subgroup_size_measured = info[0];

  t.fma_cases = static_cast<uint32_t>(fma_end - fma_begin);
  t.fma_fused_cases = t.fma_unfused_cases = 0;
  for (size_t i = fma_begin; i < fma_end; ++i) {
    const Case& c = cases[i];
    if (same_bits(out[4 * i], std::fma(c.a, c.b, c.c))) t.fma_fused_cases++;
    else if (same_bits(out[4 * i], (c.a * c.b) + c.c)) t.fma_unfused_cases++;
  }
  t.fma_fused = t.fma_cases > 0 && t.fma_fused_cases == t.fma_cases;

  const size_t d = den_begin;
  const float p0 = out[4 * d + 3], p1 = out[4 * (d + 1) + 3], p2 = out[4 * (d + 2) + 3], s3 = out[4 * (d + 3) + 2];
  t.denormal_operands_flushed = !same_bits(p1, den * 0x1p100f);
  t.denormal_results_flushed = !same_bits(p2, FLT_MIN * 0.25f) || !same_bits(s3, 1.5f * FLT_MIN - FLT_MIN);
  t.denormals_preserved = !t.denormal_operands_flushed && !t.denormal_results_flushed && same_bits(p0, den) &&
                          same_bits(out[4 * d + 2], den);
  (void)den_end;

  bool rte = true;
  for (size_t i = rnd_begin; i < rnd_end; ++i) {
    const Case& c = cases[i];
    if (!same_bits(out[4 * i + 2], c.a + c.c) || !same_bits(out[4 * i + 3], c.a * c.b)) rte = false;
  }
  t.rounds_nearest_even = rte;
  t.texel_fetch_exact = t.texel_buffer_rgba32f && probe_texel_copy(device, "probe_texel", false);
  t.texel_store_exact = t.texel_store_rgba32f && probe_texel_copy(device, "probe_texel_store", true);
  t.probe_ran = true;
}

}  // namespace lockstep
