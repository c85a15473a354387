#include "numerics/reduction_plan.hpp"

#include <algorithm>
#include <stdexcept>

namespace lockstep {

uint32_t next_pow2(uint32_t v) {
  uint32_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

ReductionPlan plan_reduction(uint32_t units, uint32_t unit_len, uint32_t target_elements, uint32_t min_slices) {
  if (units == 0 || unit_len == 0) throw std::invalid_argument("reduction over zero elements");
  ReductionPlan p;
  p.units = units;
  p.unit_len = unit_len;
  const uint32_t per0 = std::max<uint32_t>(1, target_elements / unit_len);
  const uint32_t raw = (units + per0 - 1) / per0;
  p.slices = std::min(kMaxSlices, next_pow2(std::max(raw, std::min(units, min_slices))));
  p.per_slice = (units + p.slices - 1) / p.slices;
  return p;
}

ReductionPlan plan_conv_reduction(uint32_t c_in, uint32_t taps) {
  return plan_reduction(c_in, taps, kConvTargetSliceElements, 1);
}

ReductionPlan plan_dense_reduction(uint32_t in_features) {
  ReductionPlan p = plan_reduction(in_features, 1);
  p.per_slice = (p.per_slice + 3) / 4 * 4;
  return p;
}

uint32_t ReductionPlan::slice_begin(uint32_t s) const { return std::min(units, s * per_slice); }
uint32_t ReductionPlan::slice_end(uint32_t s) const { return std::min(units, (s + 1) * per_slice); }
uint32_t ReductionPlan::levels() const {
  uint32_t l = 0;
  while ((1u << l) < slices) ++l;
  return l;
}

}  // namespace lockstep
