#include <cmath>

#include "numerics/canonical_sum.hpp"
#include "reference/reference.hpp"

namespace lockstep::ref {

std::vector<float> softmax_fixed(const SoftmaxShape& s, std::span<const float> x, const NumericMode& m) {
  s.validate();
  const FixedArith ar = FixedArith::of(m);
  const ReductionPlan plan = plan_reduction(s.cols, 1);
  std::vector<float> y(s.elements());
  for (uint32_t r = 0; r < s.rows; ++r) {
    const float* xr = &x[uint64_t(r) * s.cols];
    float* yr = &y[uint64_t(r) * s.cols];
    float mx = xr[0];
    for (uint32_t j = 1; j < s.cols; ++j) mx = xr[j] > mx ? xr[j] : mx;
    for (uint32_t j = 0; j < s.cols; ++j) yr[j] = soft_exp(ar.sub(xr[j], mx), ar);
    const float sum = canonical_sum(plan, ar, [&](float acc, uint32_t j) { return ar.add(acc, yr[j]); });
    const float inv = soft_reciprocal(sum, ar);
    for (uint32_t j = 0; j < s.cols; ++j) yr[j] = soft_divide(yr[j], sum, inv, ar);
  }
  return y;
}

std::vector<double> softmax_oracle(const SoftmaxShape& s, std::span<const double> x) {
  s.validate();
  std::vector<double> y(s.elements());
  for (uint32_t r = 0; r < s.rows; ++r) {
    double mx = x[uint64_t(r) * s.cols];
    for (uint32_t j = 1; j < s.cols; ++j) mx = std::max<double>(mx, x[uint64_t(r) * s.cols + j]);
    double sum = 0.0;
    for (uint32_t j = 0; j < s.cols; ++j) sum += (y[uint64_t(r) * s.cols + j] = std::exp(x[uint64_t(r) * s.cols + j] - mx));
    for (uint32_t j = 0; j < s.cols; ++j) y[uint64_t(r) * s.cols + j] /= sum;
  }
  return y;
}

}  // namespace lockstep::ref
