#include "numerics/canonical_sum.hpp"
#include "reference/reference.hpp"

namespace lockstep::ref {

std::vector<float> global_avg_pool_fixed(const GlobalAvgPoolShape& s, std::span<const float> x,
                                         const NumericMode& m) {
  s.validate();
  const FixedArith ar = FixedArith::of(m);
  const uint32_t hw = s.h * s.w;
  const ReductionPlan plan = plan_reduction(hw, 1);
  const float inv = host_reciprocal(hw);
  std::vector<float> y(s.output_elements());
  for (uint64_t plane = 0; plane < y.size(); ++plane) {
    const float* p = &x[plane * hw];
    y[plane] = ar.mul(canonical_sum(plan, ar, [&](float acc, uint32_t i) { return ar.add(acc, p[i]); }), inv);
  }
  return y;
}

std::vector<double> global_avg_pool_oracle(const GlobalAvgPoolShape& s, std::span<const double> x) {
  s.validate();
  const uint32_t hw = s.h * s.w;
  std::vector<double> y(s.output_elements());
  for (uint64_t plane = 0; plane < y.size(); ++plane) {
    double acc = 0.0;
    for (uint32_t i = 0; i < hw; ++i) acc += x[plane * hw + i];
    y[plane] = acc / hw;
  }
  return y;
}

}  // namespace lockstep::ref
