#include "numerics/reduction_plan.hpp"

#include <algorithm>
#include <stdexcept>

namespace lockstep {

uint32_t next_pow2(uint32_t v) {
  uint32_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

ReductionPlan plan_reduction(uint32_t units, uint32_t unit_len) {
  if (units == 0 || unit_len == 0) throw std::invalid_argument("reduction over zero elements");
  ReductionPlan p;
  p.units = units;
  p.unit_len = unit_len;
  const uint32_t per0 = std::max<uint32_t>(1, kTargetSliceElements / unit_len);
  const uint32_t raw = (units + per0 - 1) / per0;
  p.slices = std::min(kMaxSlices, next_pow2(std::max(raw, std::min(units, kMinSlices))));
  p.per_slice = (units + p.slices - 1) / p.slices;
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
