#include "conformance/op_suite.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include <xxh3.h>

#include "numerics/fixed_arith.hpp"
#include "numerics/philox.hpp"
#include "ops/conv2d.hpp"
#include "ops/dense.hpp"
#include "ops/dropout.hpp"
#include "ops/eltwise.hpp"
#include "ops/global_avg_pool.hpp"
#include "ops/pool2d.hpp"
#include "ops/softmax.hpp"
#include "reference/reference.hpp"
#include "vk/sequence.hpp"

namespace lockstep::conformance {

namespace {

using Floats = std::vector<float>;

// Deterministic test values from Philox (the same on every machine and standard library).
struct ValueSpec {
  float scale = 1.0f;   // typical values uniform in [-scale, scale)
  float large = 0.0f;   // if > 0, ~2% of values have magnitude in [large, 2*large)
  bool specials = true; // ~5% signed zeros, ~5% denormals
};

Floats make_values(uint64_t n, uint64_t seed, uint32_t stream, const ValueSpec& spec) {
  Floats v(n);
  for (uint64_t i = 0; i < n; ++i) {
    const auto r = philox4x32_10({uint32_t(i), uint32_t(i >> 32), stream, 0x5eedu}, {uint32_t(seed), uint32_t(seed >> 32)});
    const float u = float(r[0] >> 8) * 0x1p-24f;  // [0, 1)
    const bool negative = r[2] & 1u;
    const uint32_t pick = r[1] % 100u;
    float x = (2.0f * u - 1.0f) * spec.scale;
    if (spec.specials && pick < 5) x = negative ? -0.0f : 0.0f;
    else if (spec.specials && pick < 10)
      x = std::bit_cast<float>(((r[3] & 0x007fffffu) | 1u) | (negative ? 0x80000000u : 0u));
    else if (spec.large > 0.0f && pick < 12)
      x = (negative ? -1.0f : 1.0f) * spec.large * (1.0f + u);
    v[i] = x;
  }
  return v;
}

struct CaseDef {
  std::string op, name;
  uint64_t elements = 0;
  std::function<Floats(Device&, const NumericMode&)> device;
  std::function<Floats(const NumericMode&)> reference;
  std::function<std::vector<double>(const NumericMode&)> oracle;
};

Floats run_sequence(Device& device, uint64_t out_elements, const std::function<void(Sequence&, const Buffer&)>& record) {
  Buffer y = device.create_buffer(out_elements * 4);
  Sequence seq(device);
  record(seq, y);
  seq.submit();
  return device.download_all<float>(y, out_elements);
}

void add_conv(std::vector<CaseDef>& cases, uint64_t seed, std::string name, Conv2dShape s, ValueSpec xs = {},
              ValueSpec ws = {0.5f}) {
  s.validate();
  const uint32_t stream = static_cast<uint32_t>(cases.size()) * 4;
  const Floats x = make_values(s.input_elements(), seed, stream, xs);
  const Floats w = make_values(s.weight_elements(), seed, stream + 1, ws);
  const Floats b = make_values(s.c_out, seed, stream + 2, {0.25f, 0.0f, false});
  CaseDef c;
  c.op = "conv2d";
  c.name = std::move(name);
  c.elements = s.output_elements();
  c.device = [=](Device& d, const NumericMode& m) {
    const Floats xf = ref::flush_for(m, x), wf = ref::flush_for(m, w), bf = ref::flush_for(m, b);
    ops::Conv2d op(d, s, m);
    Buffer xb = d.upload_new<float>(xf), wb = d.upload_new<float>(op.pack_weight(wf)), bb = d.upload_new<float>(bf);
    return run_sequence(d, s.output_elements(), [&](Sequence& q, const Buffer& y) { op.record(q, xb, wb, bb, y); });
  };
  c.reference = [=](const NumericMode& m) {
    return ref::conv2d_fixed(s, ref::flush_for(m, x), ref::flush_for(m, w), ref::flush_for(m, b), m);
  };
  c.oracle = [=](const NumericMode& m) {
    return ref::conv2d_oracle(s, ref::widen(ref::flush_for(m, x)), ref::flush_for(m, w), ref::flush_for(m, b));
  };
  cases.push_back(std::move(c));
}

void add_dense(std::vector<CaseDef>& cases, uint64_t seed, std::string name, DenseShape s, ValueSpec xs = {},
               ValueSpec ws = {0.5f}, uint64_t max_binding_bytes = 0) {
  s.validate();
  const uint32_t stream = static_cast<uint32_t>(cases.size()) * 4;
  const Floats x = make_values(s.input_elements(), seed, stream, xs);
  const Floats w = make_values(s.weight_elements(), seed, stream + 1, ws);
  const Floats b = make_values(s.out, seed, stream + 2, {0.25f, 0.0f, false});
  CaseDef c;
  c.op = "dense";
  c.name = std::move(name);
  c.elements = s.output_elements();
  c.device = [=](Device& d, const NumericMode& m) {
    const Floats xf = ref::flush_for(m, x), wf = ref::flush_for(m, w), bf = ref::flush_for(m, b);
    const uint64_t saved = d.max_binding_bytes();
    if (max_binding_bytes) d.set_max_binding_bytes(max_binding_bytes);
    ops::DenseWeights wb;
    try {
      wb = ops::upload_dense_weights(d, s, wf);
    } catch (...) {
      d.set_max_binding_bytes(saved);
      throw;
    }
    d.set_max_binding_bytes(saved);
    ops::Dense op(d, s, m);
    Buffer xb = d.upload_new<float>(xf), bb = d.upload_new<float>(bf);
    return run_sequence(d, s.output_elements(), [&](Sequence& q, const Buffer& y) { op.record(q, xb, wb, bb, y); });
  };
  c.reference = [=](const NumericMode& m) {
    return ref::dense_fixed(s, ref::flush_for(m, x), ref::flush_for(m, w), ref::flush_for(m, b), m);
  };
  c.oracle = [=](const NumericMode& m) {
    return ref::dense_oracle(s, ref::widen(ref::flush_for(m, x)), ref::flush_for(m, w), ref::flush_for(m, b));
  };
  cases.push_back(std::move(c));
}

void add_pool(std::vector<CaseDef>& cases, uint64_t seed, std::string name, Pool2dShape s, ValueSpec xs = {}) {
  s.validate();
  const Floats x = make_values(s.input_elements(), seed, static_cast<uint32_t>(cases.size()) * 4, xs);
  CaseDef c;
  c.op = s.kind == PoolKind::Max ? "max_pool" : "average_pool";
  c.name = std::move(name);
  c.elements = s.output_elements();
  c.device = [=](Device& d, const NumericMode& m) {
    ops::Pool2d op(d, s, m);
    Buffer xb = d.upload_new<float>(ref::flush_for(m, x));
    return run_sequence(d, s.output_elements(), [&](Sequence& q, const Buffer& y) { op.record(q, xb, y); });
  };
  c.reference = [=](const NumericMode& m) { return ref::pool2d_fixed(s, ref::flush_for(m, x), m); };
  c.oracle = [=](const NumericMode& m) { return ref::pool2d_oracle(s, ref::widen(ref::flush_for(m, x))); };
  cases.push_back(std::move(c));
}

void add_gap(std::vector<CaseDef>& cases, uint64_t seed, std::string name, GlobalAvgPoolShape s, ValueSpec xs = {}) {
  s.validate();
  const Floats x = make_values(s.input_elements(), seed, static_cast<uint32_t>(cases.size()) * 4, xs);
  CaseDef c;
  c.op = "global_average_pool";
  c.name = std::move(name);
  c.elements = s.output_elements();
  c.device = [=](Device& d, const NumericMode& m) {
    ops::GlobalAvgPool op(d, s, m);
    Buffer xb = d.upload_new<float>(ref::flush_for(m, x));
    return run_sequence(d, s.output_elements(), [&](Sequence& q, const Buffer& y) { op.record(q, xb, y); });
  };
  c.reference = [=](const NumericMode& m) { return ref::global_avg_pool_fixed(s, ref::flush_for(m, x), m); };
  c.oracle = [=](const NumericMode& m) { return ref::global_avg_pool_oracle(s, ref::widen(ref::flush_for(m, x))); };
  cases.push_back(std::move(c));
}

void add_eltwise(std::vector<CaseDef>& cases, uint64_t seed, std::string name, EltwiseShape s, bool add, ValueSpec xs) {
  const uint32_t stream = static_cast<uint32_t>(cases.size()) * 4;
  const Floats a = make_values(s.count, seed, stream, xs);
  const Floats b = add ? make_values(s.count, seed, stream + 1, xs) : Floats{};
  CaseDef c;
  c.op = add ? "add" : "relu";
  c.name = std::move(name);
  c.elements = s.count;
  c.device = [=](Device& d, const NumericMode& m) {
    ops::Eltwise op(d, add ? ops::Eltwise::Kind::Add : ops::Eltwise::Kind::Relu, s, m);
    Buffer ab = d.upload_new<float>(ref::flush_for(m, a));
    Buffer bb = add ? d.upload_new<float>(ref::flush_for(m, b)) : Buffer{};
    return run_sequence(d, s.count, [&](Sequence& q, const Buffer& y) { op.record(q, ab, add ? bb : ab, y); });
  };
  c.reference = [=](const NumericMode& m) { return ref::eltwise_fixed(s, ref::flush_for(m, a), ref::flush_for(m, b), m); };
  c.oracle = [=](const NumericMode& m) { return ref::eltwise_oracle(s, ref::widen(ref::flush_for(m, a)), ref::widen(ref::flush_for(m, b))); };
  cases.push_back(std::move(c));
}

void add_softmax(std::vector<CaseDef>& cases, uint64_t seed, std::string name, SoftmaxShape s, ValueSpec xs) {
  s.validate();
  const Floats x = make_values(s.elements(), seed, static_cast<uint32_t>(cases.size()) * 4, xs);
  CaseDef c;
  c.op = "softmax";
  c.name = std::move(name);
  c.elements = s.elements();
  c.device = [=](Device& d, const NumericMode& m) {
    ops::Softmax op(d, s, m);
    Buffer xb = d.upload_new<float>(ref::flush_for(m, x));
    return run_sequence(d, s.elements(), [&](Sequence& q, const Buffer& y) { op.record(q, xb, y); });
  };
  c.reference = [=](const NumericMode& m) { return ref::softmax_fixed(s, ref::flush_for(m, x), m); };
  c.oracle = [=](const NumericMode& m) { return ref::softmax_oracle(s, ref::widen(ref::flush_for(m, x))); };
  cases.push_back(std::move(c));
}

void add_dropout(std::vector<CaseDef>& cases, uint64_t seed, std::string name, DropoutShape s) {
  s.validate();
  const Floats x = make_values(s.count, seed, static_cast<uint32_t>(cases.size()) * 4, {});
  CaseDef c;
  c.op = "dropout";
  c.name = std::move(name);
  c.elements = s.count;
  c.device = [=](Device& d, const NumericMode& m) {
    ops::Dropout op(d, s, m);
    Buffer xb = d.upload_new<float>(ref::flush_for(m, x));
    return run_sequence(d, s.count, [&](Sequence& q, const Buffer& y) { op.record(q, xb, y); });
  };
  c.reference = [=](const NumericMode& m) { return ref::dropout_fixed(s, ref::flush_for(m, x), m); };
  c.oracle = [=](const NumericMode& m) { return ref::dropout_oracle(s, ref::widen(ref::flush_for(m, x))); };
  cases.push_back(std::move(c));
}

Conv2dShape conv(uint32_t n, uint32_t ci, uint32_t h, uint32_t w, uint32_t co, uint32_t kh, uint32_t kw, uint32_t sh,
                 uint32_t sw, uint32_t pt, uint32_t pl, uint32_t pb, uint32_t pr, bool bias, bool relu) {
  Conv2dShape s;
  s.n = n, s.c_in = ci, s.h = h, s.w = w, s.c_out = co, s.kh = kh, s.kw = kw, s.stride_h = sh, s.stride_w = sw;
  s.pad_top = pt, s.pad_left = pl, s.pad_bottom = pb, s.pad_right = pr, s.bias = bias, s.relu = relu;
  return s;
}

Pool2dShape pool(PoolKind k, uint32_t n, uint32_t c, uint32_t h, uint32_t w, uint32_t kh, uint32_t kw, uint32_t sh,
                 uint32_t sw, uint32_t pt, uint32_t pl, uint32_t pb, uint32_t pr, bool include_pad) {
  Pool2dShape s;
  s.kind = k, s.n = n, s.c = c, s.h = h, s.w = w, s.kh = kh, s.kw = kw, s.stride_h = sh, s.stride_w = sw;
  s.pad_top = pt, s.pad_left = pl, s.pad_bottom = pb, s.pad_right = pr, s.count_include_pad = include_pad;
  return s;
}

std::vector<CaseDef> build_cases(uint64_t seed) {
  std::vector<CaseDef> c;
  const ValueSpec large_x{1.0f, 1e30f, true};    // products up to ~1e30: near-overflow partial sums
  const ValueSpec tiny{1e-19f, 0.0f, true};       // products ~1e-38: sums pass through the denormal range
  // conv2d: 1x1, 3x3, 7x7 and general kernels; strides 1 and 2; symmetric and asymmetric padding.
  add_conv(c, seed, "3x3_s1_p1_13x13x37_relu", conv(1, 37, 13, 13, 19, 3, 3, 1, 1, 1, 1, 1, 1, true, true));
  add_conv(c, seed, "1x1_s1_nobias_batch2", conv(2, 64, 7, 9, 33, 1, 1, 1, 1, 0, 0, 0, 0, false, false));
  add_conv(c, seed, "1x1_s2", conv(1, 40, 11, 11, 24, 1, 1, 2, 2, 0, 0, 0, 0, true, false));
  add_conv(c, seed, "7x7_s2_p3_relu", conv(1, 3, 29, 31, 16, 7, 7, 2, 2, 3, 3, 3, 3, true, true), large_x);
  add_conv(c, seed, "5x3_s2x1_asymmetric_pad", conv(1, 11, 10, 12, 7, 5, 3, 2, 1, 2, 1, 1, 0, true, false));
  add_conv(c, seed, "3x3_s2_p1_300ch", conv(1, 300, 9, 9, 8, 3, 3, 2, 2, 1, 1, 1, 1, true, true));
  add_conv(c, seed, "3x3_denormal_sums", conv(1, 16, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, false, false), tiny, tiny);
  // dense: narrow trees (S below any subgroup size), one slice, long K, split weights.
  add_dense(c, seed, "1000x37_relu_batch3", {3, 1000, 37, true, true}, large_x);
  add_dense(c, seed, "45x13_narrow_tree", {1, 45, 13, true, false});
  add_dense(c, seed, "17x9_one_slice_nobias", {1, 17, 9, false, false});
  add_dense(c, seed, "3x5_tree_of_4", {2, 3, 5, true, false});
  add_dense(c, seed, "1x4_tree_of_1", {3, 1, 4, true, true});
  add_dense(c, seed, "4099x21_long", {2, 4099, 21, true, false});
  add_dense(c, seed, "300x50_split_weights", {2, 300, 50, true, true}, {}, {0.5f}, 16 * 1200);
  add_dense(c, seed, "200x6_denormal_sums", {1, 200, 6, false, false}, tiny, tiny);
  // pools
  add_pool(c, seed, "max_3x3_s2_p1", pool(PoolKind::Max, 2, 5, 13, 13, 3, 3, 2, 2, 1, 1, 1, 1, false));
  add_pool(c, seed, "max_2x2_s2", pool(PoolKind::Max, 1, 6, 12, 10, 2, 2, 2, 2, 0, 0, 0, 0, false));
  add_pool(c, seed, "max_3x3_s1_asymmetric_pad", pool(PoolKind::Max, 1, 3, 7, 8, 3, 3, 1, 1, 1, 0, 0, 1, false));
  add_pool(c, seed, "avg_3x3_s1_p1_exclude_pad", pool(PoolKind::Average, 1, 7, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1, false));
  add_pool(c, seed, "avg_3x3_s1_p1_include_pad", pool(PoolKind::Average, 1, 7, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1, true));
  add_pool(c, seed, "avg_7x7_s1", pool(PoolKind::Average, 2, 9, 7, 7, 7, 7, 1, 1, 0, 0, 0, 0, false));
  add_pool(c, seed, "avg_2x3_s2_asymmetric_pad", pool(PoolKind::Average, 1, 4, 9, 10, 2, 3, 2, 2, 1, 0, 0, 2, false));
  add_pool(c, seed, "avg_3x3_denormals", pool(PoolKind::Average, 1, 4, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, false), tiny);
  // global average pool
  add_gap(c, seed, "2x37x13x13", {2, 37, 13, 13});
  add_gap(c, seed, "1x256x7x7", {1, 256, 7, 7}, large_x);
  add_gap(c, seed, "1x5x1x1", {1, 5, 1, 1});
  add_gap(c, seed, "1x3x64x64", {1, 3, 64, 64});
  add_gap(c, seed, "1x8x6x6_denormals", {1, 8, 6, 6}, tiny);
  // element-wise
  add_eltwise(c, seed, "add_relu_10007_near_overflow", {10007, true}, true, {1.0f, 1.7e38f, true});
  add_eltwise(c, seed, "add_10007", {10007, false}, true, {1.0f, 0.0f, true});
  add_eltwise(c, seed, "relu_5003", {5003, false}, false, {1.0f, 1e30f, true});
  add_eltwise(c, seed, "add_denormals_777", {777, false}, true, tiny);
  // softmax
  add_softmax(c, seed, "3x1000", {3, 1000}, {8.0f, 0.0f, true});
  add_softmax(c, seed, "1x7", {1, 7}, {3.0f, 0.0f, true});
  add_softmax(c, seed, "2x4099_large_logits", {2, 4099}, {20.0f, 1e3f, true});
  // dropout
  add_dropout(c, seed, "inference_identity", {10007, 0.5, false, 42, 3});
  add_dropout(c, seed, "p0.5_seed42_layer7", {100003, 0.5, true, 42, 7});
  add_dropout(c, seed, "p0.1_seed7_layer1", {30011, 0.1, true, 7, 1});
  return c;
}

}  // namespace

std::vector<std::string> op_names() {
  return {"conv2d", "dense", "max_pool", "average_pool", "global_average_pool", "add", "relu", "softmax", "dropout"};
}

std::string hash_floats(const std::vector<float>& v) {
  const XXH128_hash_t h = XXH3_128bits(v.data(), v.size() * sizeof(float));
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

ErrorStats error_against(const std::vector<float>& y, const std::vector<double>& oracle) {
  ErrorStats e;
  double err2 = 0.0, ref2 = 0.0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double o = oracle[i];
    const float of = static_cast<float>(o);
    if (!std::isfinite(of) || !std::isfinite(y[i])) {
      if (std::isfinite(of) != std::isfinite(y[i])) e.nonfinite_mismatch++;
      continue;
    }
    const double d = std::fabs(double(y[i]) - o);
    e.max_abs = std::max(e.max_abs, d);
    err2 += d * d;
    ref2 += o * o;
    e.max_ulp = std::max(e.max_ulp, ulp_distance(y[i], of));
    e.compared++;
  }
  e.rel_rms = ref2 > 0.0 ? std::sqrt(err2 / ref2) : std::sqrt(err2);
  return e;
}

std::vector<OpRun> run_op_suite(Device& device, const SuiteOptions& options) {
  std::vector<NumericMode> modes = {{Order::Fixed, MacContract::MulAdd, DenormRule::Preserve},
                                    {Order::Fixed, MacContract::MulAdd, DenormRule::Ftz}};
  if (options.include_fma) {
    modes.push_back({Order::Fixed, MacContract::Fma, DenormRule::Preserve});
    modes.push_back({Order::Fixed, MacContract::Fma, DenormRule::Ftz});
  }
  modes.push_back({Order::Free, MacContract::MulAdd, DenormRule::Preserve});

  std::vector<OpRun> runs;
  for (const CaseDef& c : build_cases(options.seed)) {
    if (!options.op_filter.empty() && c.op != options.op_filter) continue;
    for (const NumericMode& m : modes) {
      OpRun r;
      r.op = c.op;
      r.case_name = c.name;
      r.mode = m;
      r.elements = c.elements;
      if (auto why = device.traits().refusal(m)) {
        r.refused = *why;
        runs.push_back(std::move(r));
        continue;
      }
      const Floats y = c.device(device, m);
      r.hash = hash_floats(y);
      r.error = error_against(y, c.oracle(m));
      if (m.fixed()) {
        const Floats ref = c.reference(m);
        r.bit_exact = ref.size() == y.size() && std::memcmp(ref.data(), y.data(), y.size() * 4) == 0;
        for (size_t i = 0; i < y.size() && i < ref.size(); ++i)
          if (std::bit_cast<uint32_t>(y[i]) != std::bit_cast<uint32_t>(ref[i])) {
            if (r.mismatches++ == 0) {
              r.first_mismatch = i;
              r.device_value = y[i];
              r.reference_value = ref[i];
            }
          }
      }
      if (options.keep_outputs) r.output = y;
      runs.push_back(std::move(r));
    }
  }
  return runs;
}

}  // namespace lockstep::conformance
