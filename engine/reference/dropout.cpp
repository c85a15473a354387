#include "numerics/fixed_arith.hpp"
#include "numerics/philox.hpp"
#include "reference/reference.hpp"

namespace lockstep::ref {

std::vector<float> dropout_fixed(const DropoutShape& s, std::span<const float> x, const NumericMode& m) {
  s.validate();
  const FixedArith ar = FixedArith::of(m);
  std::vector<float> y(x.begin(), x.begin() + s.count);
  if (!s.training) return y;
  const uint32_t threshold = dropout_threshold(s.p);
  const float scale = dropout_scale(s.p);
  for (uint64_t i = 0; i < s.count; ++i)
    y[i] = dropout_keep(s.seed, s.layer, i, threshold) ? ar.mul(x[i], scale) : 0.0f;
  return y;
}

std::vector<double> dropout_oracle(const DropoutShape& s, std::span<const double> x) {
  s.validate();
  std::vector<double> y(x.begin(), x.begin() + s.count);
  if (!s.training) return y;
  const uint32_t threshold = dropout_threshold(s.p);
  for (uint64_t i = 0; i < s.count; ++i)
    y[i] = dropout_keep(s.seed, s.layer, i, threshold) ? x[i] / (1.0 - s.p) : 0.0;
  return y;
}

}  // namespace lockstep::ref
