#include "numerics/canonical_sum.hpp"
#include "reference/reference.hpp"

namespace lockstep::ref {

namespace {
// Visits the valid taps of one output window in (ky, kx) order: fn(tap_index, value).
template <class X, class Fn>
uint32_t for_window(const Pool2dShape& s, std::span<const X> x, uint64_t plane, uint32_t oy,
                    uint32_t ox, uint32_t tap_begin, uint32_t tap_end, Fn&& fn) {
  uint32_t valid = 0;
  for (uint32_t t = tap_begin; t < tap_end; ++t) {
    const uint32_t ky = t / s.kw, kx = t % s.kw;
    const int64_t iy = int64_t(oy) * s.stride_h - s.pad_top + ky;
    const int64_t ix = int64_t(ox) * s.stride_w - s.pad_left + kx;
    if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
    ++valid;
    fn(x[(plane * s.h + iy) * s.w + ix]);
  }
  return valid;
}
}  // namespace

std::vector<float> pool2d_fixed(const Pool2dShape& s, std::span<const float> x, const NumericMode& m) {
  s.validate();
  const FixedArith ar = FixedArith::of(m);
  const uint32_t taps = s.kh * s.kw, oh = s.out_h(), ow = s.out_w();
  const ReductionPlan plan = plan_reduction(taps, 1);
  std::vector<float> y(s.output_elements());
  size_t o = 0;
  for (uint64_t plane = 0; plane < uint64_t(s.n) * s.c; ++plane)
    for (uint32_t oy = 0; oy < oh; ++oy)
      for (uint32_t ox = 0; ox < ow; ++ox) {
        if (s.kind == PoolKind::Max) {
          bool first = true;
          float mx = 0.0f;
          for_window<float>(s, x, plane, oy, ox, 0, taps, [&](float v) {
            if (first || v > mx) mx = v;
            first = false;
          });
          y[o++] = mx;
        } else {
          uint32_t valid = 0;
          const float sum = canonical_sum(plan, ar, [&](float acc, uint32_t t) {
            valid += for_window<float>(s, x, plane, oy, ox, t, t + 1, [&](float v) { acc = ar.add(acc, v); });
            return acc;
          });
          y[o++] = ar.mul(sum, host_reciprocal(s.count_include_pad ? taps : valid));
        }
      }
  return y;
}

std::vector<double> pool2d_oracle(const Pool2dShape& s, std::span<const double> x) {
  s.validate();
  const uint32_t taps = s.kh * s.kw, oh = s.out_h(), ow = s.out_w();
  std::vector<double> y(s.output_elements());
  size_t o = 0;
  for (uint64_t plane = 0; plane < uint64_t(s.n) * s.c; ++plane)
    for (uint32_t oy = 0; oy < oh; ++oy)
      for (uint32_t ox = 0; ox < ow; ++ox) {
        double acc = s.kind == PoolKind::Max ? -INFINITY : 0.0;
        const uint32_t valid = for_window<double>(s, x, plane, oy, ox, 0, taps, [&](double v) {
          acc = s.kind == PoolKind::Max ? (v > acc ? v : acc) : acc + v;
        });
        if (s.kind == PoolKind::Average) acc /= double(s.count_include_pad ? taps : valid);
        y[o++] = acc;
      }
  return y;
}

}  // namespace lockstep::ref
