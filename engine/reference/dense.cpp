#include "numerics/canonical_sum.hpp"
#include "reference/reference.hpp"

namespace lockstep::ref {

std::vector<float> dense_fixed(const DenseShape& s, std::span<const float> x, std::span<const float> w,
                               std::span<const float> b, const NumericMode& m) {
  s.validate();
  const FixedArith ar = FixedArith::of(m);
  const ReductionPlan plan = plan_dense_reduction(s.in);
  std::vector<float> y(s.output_elements());
  for (uint32_t n = 0; n < s.n; ++n)
    for (uint32_t o = 0; o < s.out; ++o) {
      const float* xr = &x[uint64_t(n) * s.in];
      const float* wr = &w[uint64_t(o) * s.in];
      float v = canonical_sum(plan, ar, [&](float acc, uint32_t k) { return ar.mac(acc, xr[k], wr[k]); });
      if (s.bias) v = ar.add(v, b[o]);
      if (s.relu) v = FixedArith::relu(v);
      y[uint64_t(n) * s.out + o] = v;
    }
  return y;
}

std::vector<double> dense_oracle(const DenseShape& s, std::span<const double> x, std::span<const float> w,
                                 std::span<const float> b) {
  s.validate();
  std::vector<double> y(s.output_elements());
  for (uint32_t n = 0; n < s.n; ++n)
    for (uint32_t o = 0; o < s.out; ++o) {
      double v = 0.0;
      for (uint32_t k = 0; k < s.in; ++k) v += x[uint64_t(n) * s.in + k] * w[uint64_t(o) * s.in + k];
      if (s.bias) v += b[o];
      if (s.relu) v = v > 0.0 ? v : 0.0;
      y[uint64_t(n) * s.out + o] = v;
    }
  return y;
}

}  // namespace lockstep::ref
