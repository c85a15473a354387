#include "numerics/canonical_sum.hpp"
#include "reference/reference.hpp"

namespace lockstep::ref {

namespace {
// Accumulates the taps of input channel ci for one output, (ky, kx) row-major: acc = mac(acc,
// x, w). Taps in the padding read +0.0 (zero padding, as the frameworks define it), so the
// accumulator sees every tap: + (+0.0 * w), which is -0.0 or +0.0, or NaN for an infinite w.
template <class T, class X, class Acc>
T conv_unit(const Conv2dShape& s, std::span<const X> x, std::span<const float> w, uint32_t n,
            uint32_t co, uint32_t oy, uint32_t ox, uint32_t ci, T acc, Acc&& mac) {
  for (uint32_t ky = 0; ky < s.kh; ++ky) {
    const int64_t iy = int64_t(oy) * s.stride_h - s.pad_top + ky;
    for (uint32_t kx = 0; kx < s.kw; ++kx) {
      const int64_t ix = int64_t(ox) * s.stride_w - s.pad_left + kx;
      const bool inside = iy >= 0 && iy < s.h && ix >= 0 && ix < s.w;
      const X xv = inside ? x[((uint64_t(n) * s.c_in + ci) * s.h + iy) * s.w + ix] : X(0);
      const float wv = w[((uint64_t(co) * s.c_in + ci) * s.kh + ky) * s.kw + kx];
      acc = mac(acc, xv, wv);
    }
  }
  return acc;
}
}  // namespace

std::vector<float> conv2d_fixed(const Conv2dShape& s, std::span<const float> x, std::span<const float> w,
                                std::span<const float> b, const NumericMode& m) {
  s.validate();
  const FixedArith ar = FixedArith::of(m);
  const ReductionPlan plan = plan_conv_reduction(s.c_in, s.kh * s.kw);
  const uint32_t oh = s.out_h(), ow = s.out_w();
  std::vector<float> y(s.output_elements());
  auto mac = [&](float acc, float a, float c) { return ar.mac(acc, a, c); };
  size_t o = 0;
  for (uint32_t n = 0; n < s.n; ++n)
    for (uint32_t co = 0; co < s.c_out; ++co)
      for (uint32_t oy = 0; oy < oh; ++oy)
        for (uint32_t ox = 0; ox < ow; ++ox) {
          float v = canonical_sum(plan, ar, [&](float acc, uint32_t ci) {
            return conv_unit<float, float>(s, x, w, n, co, oy, ox, ci, acc, mac);
          });
          if (s.bias) v = ar.add(v, b[co]);
          if (s.relu) v = FixedArith::relu(v);
          y[o++] = v;
        }
  return y;
}

std::vector<double> conv2d_oracle(const Conv2dShape& s, std::span<const double> x, std::span<const float> w,
                                  std::span<const float> b) {
  s.validate();
  const uint32_t oh = s.out_h(), ow = s.out_w();
  std::vector<double> y(s.output_elements());
  auto mac = [](double acc, double a, float c) { return acc + a * double(c); };
  size_t o = 0;
  for (uint32_t n = 0; n < s.n; ++n)
    for (uint32_t co = 0; co < s.c_out; ++co)
      for (uint32_t oy = 0; oy < oh; ++oy)
        for (uint32_t ox = 0; ox < ow; ++ox) {
          double v = 0.0;
          for (uint32_t ci = 0; ci < s.c_in; ++ci) v = conv_unit<double, double>(s, x, w, n, co, oy, ox, ci, v, mac);
          if (s.bias) v += b[co];
          if (s.relu) v = v > 0.0 ? v : 0.0;
          y[o++] = v;
        }
  return y;
}

}  // namespace lockstep::ref
