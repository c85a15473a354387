// The canonical blocked sum of reduction_plan.hpp, in plain C++ (the CPU reference's half of
// the contract; shaders/fixed_reduce.glsl is the device half).
#pragma once
#include <vector>

#include "numerics/fixed_arith.hpp"
#include "numerics/reduction_plan.hpp"

namespace lockstep {

// Pairwise tree over a power-of-two count of partials: lower + upper, off = 1, 2, 4, ...
inline float tree_sum(std::vector<float>& partial, const FixedArith& ar) {
  const size_t s = partial.size();
  for (size_t off = 1; off < s; off <<= 1)
    for (size_t i = 0; i + off < s; i += 2 * off) partial[i] = ar.add(partial[i], partial[i + off]);
  return partial[0];
}

// slice_sum(acc, unit) returns acc after accumulating one unit, in ascending order.
template <class UnitFn>
float canonical_sum(const ReductionPlan& plan, const FixedArith& ar, UnitFn&& accumulate_unit) {
  std::vector<float> partial(plan.slices, 0.0f);
  for (uint32_t s = 0; s < plan.slices; ++s) {
    float acc = 0.0f;
    for (uint32_t u = plan.slice_begin(s); u < plan.slice_end(s); ++u) acc = accumulate_unit(acc, u);
    partial[s] = acc;
  }
  return tree_sum(partial, ar);
}

}  // namespace lockstep
