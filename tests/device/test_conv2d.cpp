// Conv2d on the device: fixed order bit for bit with the CPU reference (1x1, 3x3, 7x7, 5x3;
// strides 1 and 2; symmetric and asymmetric padding; bias; ReLU; denormal sums), free order
// against the float64 oracle, and a case small enough to check by hand. The register-tiled
// kernels get their own edge cases: outputs and channel counts that are not multiples of the
// tile, flat and row tiles, aligned and unaligned segments, texel and storage reads, with and
// without weight sharing, tree depths from 1 to 256 slices (with empty trailing slices), batches, forced tile shapes,
// flushed denormals, padding semantics (+0.0 * w).
#include <bit>
#include <cmath>
#include <limits>

#include "device/harness.hpp"
#include "ops/conv2d.hpp"
#include "reference/reference.hpp"
#include "vk/sequence.hpp"

namespace lockstep::test {

TEST(Conv2d, FixedOrderEqualsReferenceBitForBit) { expect_fixed_bit_exact("conv2d"); }

TEST(Conv2d, FreeOrderWithinToleranceAndFixedNoWorse) { expect_accuracy("conv2d", 2e-6); }

TEST(Conv2d, FtzDiffersFromPreserveWhereSumsPassThroughDenormals) {
  // Proves the denormal cases really exercise denormals: the two rules give different bits.
  std::string preserve, ftz;
  for (const auto& r : suite_runs("conv2d")) {
    if (r.case_name != "3x3_denormal_sums" || !r.mode.fixed() || r.refused || r.mode.mac != MacContract::MulAdd) continue;
    (r.mode.denorm == DenormRule::Ftz ? ftz : preserve) = r.hash;
  }
  ASSERT_FALSE(preserve.empty());
  ASSERT_FALSE(ftz.empty());
  EXPECT_NE(preserve, ftz);
}

TEST(Conv2d, HandComputedTwoByTwo) {
  // x = [[1,2],[3,4]] (one channel), w = 3x3 of ones, pad 1, bias 0.5: each output is the sum of
  // its neighbourhood + 0.5 — every input contributes to every output here: 10.5.
  Conv2dShape s;
  s.c_in = 1, s.h = 2, s.w = 2, s.c_out = 1, s.kh = 3, s.kw = 3;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
  const std::vector<float> x{1, 2, 3, 4}, w(9, 1.0f), b{0.5f};
  for (Order order : {Order::Fixed, Order::Free}) {
    const NumericMode m{order, MacContract::MulAdd, DenormRule::Preserve};
    ops::Conv2d op(device(), s, m);
    Buffer xb = device().upload_new<float>(x), wb = device().upload_new<float>(op.pack_weight(w));
    Buffer bb = device().upload_new<float>(b);
    Buffer yb = device().create_buffer(4 * 4);
    Sequence seq(device());
    op.record(seq, xb, wb, bb, yb);
    seq.submit();
    const auto y = device().download_all<float>(yb, 4);
    for (float v : y) EXPECT_EQ(v, 10.5f) << describe(m);
  }
}

TEST(Conv2d, FixedOrderIndependentOfDispatchRepetition) {
  // The same recorded sequence submitted twice gives the same bits (no state leaks between runs).
  Conv2dShape s;
  s.c_in = 37, s.h = 13, s.w = 13, s.c_out = 5, s.kh = 3, s.kw = 3, s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
  std::vector<float> x(s.input_elements()), w(s.weight_elements()), b(s.c_out, 0.1f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i * 7919 % 201) - 100) / 37.0f;
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(int(i * 104729 % 101) - 50) / 91.0f;
  const NumericMode m{};
  ops::Conv2d op(device(), s, m);
  Buffer xb = device().upload_new<float>(x), wb = device().upload_new<float>(op.pack_weight(w));
  Buffer bb = device().upload_new<float>(b);
  Buffer yb = device().create_buffer(s.output_elements() * 4);
  Sequence seq(device());
  op.record(seq, xb, wb, bb, yb);
  seq.submit();
  const auto first = device().download_all<float>(yb, s.output_elements());
  device().fill_zero(yb);
  seq.submit();
  const auto second = device().download_all<float>(yb, s.output_elements());
  const auto ref = ref::conv2d_fixed(s, x, w, b, m);
  EXPECT_EQ(0, std::memcmp(first.data(), ref.data(), ref.size() * 4));
  EXPECT_EQ(0, std::memcmp(second.data(), ref.data(), ref.size() * 4));
}

namespace {

Conv2dShape shape(uint32_t n, uint32_t ci, uint32_t h, uint32_t w, uint32_t co, uint32_t kh, uint32_t kw, uint32_t sh,
                  uint32_t sw, uint32_t pt, uint32_t pl, uint32_t pb, uint32_t pr, bool bias = true, bool relu = false) {
  Conv2dShape s;
  s.n = n, s.c_in = ci, s.h = h, s.w = w, s.c_out = co, s.kh = kh, s.kw = kw, s.stride_h = sh, s.stride_w = sw;
  s.pad_top = pt, s.pad_left = pl, s.pad_bottom = pb, s.pad_right = pr, s.bias = bias, s.relu = relu;
  return s;
}

// Deterministic values in [-scale, scale] with exact zeros, negative zeros and, with `tiny`,
// magnitudes around 1e-20 (products ~1e-40: denormal) and a few denormal values themselves.
std::vector<float> values(uint64_t count, uint32_t seed, float scale, bool tiny = false) {
  std::vector<float> v(count);
  uint32_t st = seed * 2654435761u + 12345u;
  for (uint64_t i = 0; i < count; ++i) {
    st = st * 1664525u + 1013904223u;
    const uint32_t r = st >> 8;
    float f = (float(int(r % 20001) - 10000) / 10000.0f) * scale;
    if (r % 97 == 0) f = 0.0f;
    if (r % 101 == 0) f = -0.0f;
    if (tiny) f *= 1e-20f;
    if (tiny && r % 13 == 0) f = std::bit_cast<float>(0x00000100u + (r & 0xffu)) * (r % 2 ? 1.0f : -1.0f);
    v[i] = f;
  }
  return v;
}

using Reads = ops::Conv2dOptions::Reads;

// Runs one convolution in `m` on the device and returns its output.
std::vector<float> run_conv(const Conv2dShape& s, const NumericMode& m, const ops::Conv2d::Options& o,
                            const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                            std::string* described = nullptr) {
  ops::Conv2d op(device(), s, m, o);
  if (described) *described = op.describe();
  Buffer xb = device().upload_new<float>(x), wb = device().upload_new<float>(op.pack_weight(w));
  Buffer bb = device().upload_new<float>(b.empty() ? std::vector<float>{0.0f} : b);
  Buffer yb = device().create_buffer(s.output_elements() * 4);
  Sequence seq(device());
  op.record(seq, xb, wb, bb, yb);
  seq.submit();
  return device().download_all<float>(yb, s.output_elements());
}

// The kernel variants every shape is run with: the device's choice, and each way of reading
// operands with and without weight sharing where the device has them; texel reads without
// sharing write through a storage buffer, with sharing through texel stores where they apply.
std::vector<ops::Conv2d::Options> variants(ops::Conv2d::Options base = {}) {
  std::vector<ops::Conv2d::Options> v{base};
  const auto& t = device().traits();
  for (Reads r : {Reads::Storage, Reads::Texel}) {
    if (r == Reads::Texel && !t.texel_fetch_exact) continue;
    for (int share : {0, 4}) {
      if (share && !(t.subgroup_shuffle && t.compute_full_subgroups && t.min_subgroup_size >= 4)) continue;
      ops::Conv2d::Options o = base;
      o.reads = r;
      o.share = share;
      o.allow_texel_store = share != 0;
      v.push_back(o);
    }
  }
  return v;
}

// Every fixed contract the device runs, bit for bit against the reference; free order against
// the float64 oracle. With `sweep`, every kernel variant of variants(o), else `o` alone (each
// variant is a pipeline that lavapipe compiles for a second or two).
void expect_exact(const Conv2dShape& s, const ops::Conv2d::Options& o, uint32_t seed, bool tiny = false,
                  double free_tolerance = 2e-6, bool sweep = false) {
  const auto x = values(s.input_elements(), seed, 2.0f, tiny);
  const auto w = values(s.weight_elements(), seed + 1, 0.5f, tiny);
  const auto b = s.bias ? values(s.c_out, seed + 2, 0.25f) : std::vector<float>{};
  std::vector<NumericMode> modes{NumericMode{}};
  if (tiny)
    modes = {{Order::Fixed, MacContract::MulAdd, DenormRule::Preserve},
             {Order::Fixed, MacContract::MulAdd, DenormRule::Ftz},
             {Order::Fixed, MacContract::Fma, DenormRule::Preserve},
             {Order::Fixed, MacContract::Fma, DenormRule::Ftz}};
  size_t ran = 0;
  for (const auto& variant : sweep ? variants(o) : std::vector<ops::Conv2d::Options>{o}) {
    for (const NumericMode& m : modes) {
      if (device().traits().refusal(m)) continue;
      ++ran;
      const auto xf = ref::flush_for(m, x), wf = ref::flush_for(m, w), bf = ref::flush_for(m, b);
      std::string kernel;
      const auto y = run_conv(s, m, variant, xf, wf, bf, &kernel);
      const auto r = ref::conv2d_fixed(s, xf, wf, bf, m);
      ASSERT_EQ(y.size(), r.size());
      uint64_t bad = 0, first = 0;
      for (uint64_t i = 0; i < r.size(); ++i)
        if (std::bit_cast<uint32_t>(y[i]) != std::bit_cast<uint32_t>(r[i]) && bad++ == 0) first = i;
      EXPECT_EQ(bad, 0u) << describe(m) << " " << kernel << ": " << bad << " of " << r.size()
                         << " outputs differ; first at " << first << ": device " << y[first] << ", reference " << r[first];
    }
    if (tiny) continue;
    const NumericMode free{Order::Free, MacContract::MulAdd, DenormRule::Preserve};
    std::string kernel;
    const auto y = run_conv(s, free, variant, x, w, b, &kernel);
    const auto oracle = ref::conv2d_oracle(s, ref::widen(x), w, b);
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < oracle.size(); ++i) {
      num += (y[i] - oracle[i]) * (y[i] - oracle[i]);
      den += oracle[i] * oracle[i];
    }
    EXPECT_LE(std::sqrt(num / std::max(den, 1e-300)), free_tolerance) << "free order, " << kernel;
  }
  EXPECT_GT(ran, 0u);
}

ops::Conv2d::Options tile(uint32_t channels, uint32_t pixels) {
  ops::Conv2d::Options o;
  o.tile_channels = channels;
  o.tile_pixels = pixels;
  return o;
}
const ops::Conv2d::Options kAuto{};

}  // namespace

TEST(Conv2dTiled, OutputsAndChannelsNotMultiplesOfTheTile) {
  // 13 columns, 11 rows, 19 output channels: partial tiles in x and in channels.
  expect_exact(shape(1, 21, 11, 13, 19, 3, 3, 1, 1, 1, 1, 1, 1, true, true), kAuto, 1);
  expect_exact(shape(1, 9, 5, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1), kAuto, 3);  // fewer channels than one group
  // 28x28: 196 tiles, several workgroups of tiles (28, 40 or 16 per group at subgroup 4, 8 or
  // 16), the last one partial at 8 and 16; rows of 28 pixels: 3x3 stride 2 has row tiles.
  expect_exact(shape(2, 5, 28, 28, 9, 3, 3, 1, 1, 1, 1, 1, 1), kAuto, 4);
  expect_exact(shape(1, 5, 56, 56, 9, 3, 3, 2, 2, 1, 1, 1, 1), kAuto, 2);
}

TEST(Conv2dTiled, FlatAndRowTilesAlignedAndNot) {
  // Each layout of tiles and segments, in every way of reading operands (sweep).
  auto sweep = [](const Conv2dShape& s, uint32_t seed) { expect_exact(s, kAuto, seed, false, 2e-6, true); };
  sweep(shape(1, 16, 9, 12, 10, 1, 1, 1, 1, 0, 0, 0, 0, false), 4);   // 1x1 flat aligned, 4 channels per step
  sweep(shape(1, 8, 14, 14, 9, 3, 3, 1, 1, 1, 1, 1, 1), 6);           // w % 4 == 2: shift per ky
  sweep(shape(1, 8, 7, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, true, true), 7); // 7x7 plane: unaligned
  sweep(shape(1, 13, 14, 14, 9, 1, 1, 2, 2, 0, 0, 0, 0), 9);          // 1x1 stride 2, w 14: rows, unaligned
  sweep(shape(1, 6, 16, 16, 8, 3, 3, 2, 2, 1, 1, 1, 1), 14);          // 3x3 stride 2: rows, aligned
  expect_exact(shape(1, 16, 9, 11, 10, 1, 1, 1, 1, 0, 0, 0, 0), kAuto, 5);          // 1x1 flat, odd plane
  expect_exact(shape(1, 13, 12, 16, 9, 1, 1, 2, 2, 0, 0, 0, 0), kAuto, 8);          // 1x1 stride 2: rows, aligned
  expect_exact(shape(1, 13, 12, 16, 9, 1, 3, 1, 1, 0, 2, 0, 1), kAuto, 10);         // 1x3, left pad 2 (out_w > w)
  expect_exact(shape(1, 3, 23, 24, 11, 7, 7, 2, 2, 3, 3, 3, 3, true, true), kAuto, 11);  // 7x7 stride 2
  expect_exact(shape(1, 11, 10, 12, 7, 5, 3, 2, 1, 2, 1, 1, 0), kAuto, 12);         // 5x3, strides (2, 1)
  expect_exact(shape(1, 11, 10, 12, 7, 5, 3, 1, 2, 0, 2, 2, 1), kAuto, 13);         // stride 2 in x only
  expect_exact(shape(1, 6, 8, 20, 8, 5, 5, 1, 1, 0, 3, 1, 1), kAuto, 15);           // pads (0, 3, 1, 1): out_w < w
  expect_exact(shape(1, 5, 6, 8, 4, 3, 3, 1, 1, 0, 0, 0, 0), kAuto, 16);            // no padding: rows
  expect_exact(shape(1, 5, 6, 8, 4, 3, 3, 1, 1, 2, 1, 0, 1), kAuto, 17);            // flat, out_h < h + 2
  ops::Conv2d::Options rows;
  rows.allow_flat = false;
  expect_exact(shape(1, 8, 14, 14, 9, 3, 3, 1, 1, 1, 1, 1, 1), rows, 18);           // the same as rows
}

TEST(Conv2dTiled, EveryTreeDepth) {
  // plan_conv_reduction: 3x3 slices = next_pow2(ceil(ci / 56)): 1 (ci 1), 2 (57: 29, 28), 4
  // with a shorter last slice (113: 29, 29, 29, 26), 8 (400), 16 (600: 15 x 38, then 30), 32
  // with an empty last slice (930: 31 x 30), 64 (1800: 62 x 29, 2, empty); 5x5 (225: 16
  // slices of 15, the last empty), 7x7 (1300: 256 slices of 6, the last 39 empty), 1x1 (700:
  // 2 of 350; 1028: 4 of 257; 1024: 2 of 512, 4 channels per step).
  for (uint32_t ci : {1u, 57u, 113u, 400u, 600u, 930u, 1800u})
    expect_exact(shape(1, ci, 6, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, true, true), kAuto, 20 + ci, false, 1e-5);
  expect_exact(shape(1, 225, 6, 7, 5, 5, 5, 1, 1, 2, 2, 2, 2), kAuto, 30);
  expect_exact(shape(1, 1300, 5, 6, 6, 7, 7, 1, 1, 3, 3, 3, 3), kAuto, 31, false, 1e-5);  // free: one chain of 63700
  for (uint32_t ci : {700u, 1028u, 1024u})
    expect_exact(shape(1, ci, 4, 4, 6, 1, 1, 1, 1, 0, 0, 0, 0), kAuto, 32 + ci);
}

TEST(Conv2dTiled, Batch) {
  expect_exact(shape(2, 19, 7, 9, 21, 3, 3, 1, 1, 1, 1, 1, 1), kAuto, 40);
  expect_exact(shape(2, 33, 5, 8, 17, 1, 1, 1, 1, 0, 0, 0, 0, false), kAuto, 41);
}

TEST(Conv2dTiled, ForcedTileShapes) {
  // The device's choice aside, every tile shape keeps the canonical order.
  const Conv2dShape s = shape(1, 23, 9, 13, 21, 3, 3, 1, 1, 1, 1, 1, 1, true, true);
  for (auto [c, p] : std::initializer_list<std::pair<uint32_t, uint32_t>>{{4, 1}, {8, 5}, {16, 4}, {32, 8}})
    expect_exact(s, tile(c, p), 50 + c + p);
  expect_exact(shape(1, 23, 8, 16, 21, 3, 3, 1, 1, 1, 1, 1, 1), tile(8, 8), 60);  // aligned, P = 8
}

TEST(Conv2dTiled, DenormalsUnderEveryContract) {
  // Products ~1e-40 and sums through the denormal range; ftz flushes every result, preserve keeps
  // them, and denormal inputs are flushed on the host under ftz.
  expect_exact(shape(1, 24, 7, 9, 10, 3, 3, 1, 1, 1, 1, 1, 1), kAuto, 70, /*tiny=*/true);
  expect_exact(shape(1, 24, 8, 8, 10, 3, 3, 1, 1, 1, 1, 1, 1), kAuto, 71, /*tiny=*/true);
  expect_exact(shape(1, 40, 4, 8, 12, 1, 1, 1, 1, 0, 0, 0, 0, false), kAuto, 72, /*tiny=*/true);
}

TEST(Conv2dTiled, PaddingReadsPositiveZero) {
  // Zero padding and skipped taps differ where a padded tap meets an infinite weight: +0 * inf
  // is NaN. One channel, a 1x1 image, 3x3 kernel, pad 1: tap (0, 0) is always in the padding.
  const Conv2dShape s = shape(1, 1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, false);
  std::vector<float> w(9, 1.0f);
  w[0] = std::numeric_limits<float>::infinity();  // tap (0, 0): always in the padding here
  for (const auto& variant : variants()) {
    for (Order order : {Order::Fixed, Order::Free}) {
      const NumericMode m{order, MacContract::MulAdd, DenormRule::Preserve};
      const std::vector<float> x{2.0f};
      const auto y = run_conv(s, m, variant, x, w, {});
      EXPECT_TRUE(std::isnan(y[0])) << describe(m) << ": " << y[0];
      const auto r = ref::conv2d_fixed(s, x, w, {}, m);
      EXPECT_TRUE(std::isnan(r[0]));
    }
  }
}

TEST(Conv2dTiled, FusedResidualAddKeepsTheAddsBits) {
  // conv (no ReLU) then Add(a, b) + ReLU, fused into the convolution's epilogue, in both operand
  // orders: bit for bit the reference convolution followed by the reference add, in fixed order
  // under every contract the device runs, and the same bits as the separate add in free order
  // (one correctly rounded add either way).
  for (const Conv2dShape& base : {shape(1, 9, 8, 8, 10, 3, 3, 1, 1, 1, 1, 1, 1),      // vec4 stores
                                  shape(2, 6, 7, 7, 5, 1, 1, 1, 1, 0, 0, 0, 0, false)}) {  // scalar stores
    Conv2dShape s = base;
    s.relu = false;
    const auto x = values(s.input_elements(), 90, 2.0f), w = values(s.weight_elements(), 91, 0.5f);
    const auto b = s.bias ? values(s.c_out, 92, 0.25f) : std::vector<float>{};
    const auto r = values(s.output_elements(), 93, 3.0f);
    for (auto order : {ops::Conv2d::Residual::After, ops::Conv2d::Residual::Before}) {
      for (Order o : {Order::Fixed, Order::Free}) {
        const NumericMode m{o, MacContract::MulAdd, DenormRule::Preserve};
        Conv2dShape fused = s;
        fused.relu = true;
        ops::Conv2d op(device(), fused, m, {}, order);
        Buffer xb = device().upload_new<float>(x), wb = device().upload_new<float>(op.pack_weight(w));
        Buffer bb = device().upload_new<float>(b.empty() ? std::vector<float>{0.0f} : b);
        Buffer rb = device().upload_new<float>(r), yb = device().create_buffer(s.output_elements() * 4);
        Sequence seq(device());
        op.record(seq, xb, wb, bb, yb, rb);
        seq.submit();
        const auto y = device().download_all<float>(yb, s.output_elements());
        // The unfused pair, on the device in free order (its conv is not canonical), on the
        // reference in fixed order.
        std::vector<float> conv = o == Order::Fixed ? ref::conv2d_fixed(s, x, w, b, m) : run_conv(s, m, kAuto, x, w, b);
        const EltwiseShape es{s.output_elements(), true};
        const auto expect = order == ops::Conv2d::Residual::After ? ref::eltwise_fixed(es, conv, r, m)
                                                                  : ref::eltwise_fixed(es, r, conv, m);
        EXPECT_EQ(0, std::memcmp(y.data(), expect.data(), y.size() * 4)) << describe(m) << " " << op.describe();
      }
    }
  }
}

}  // namespace lockstep::test
