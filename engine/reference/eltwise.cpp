#include "numerics/fixed_arith.hpp"
#include "reference/reference.hpp"

namespace lockstep::ref {

std::vector<float> eltwise_fixed(const EltwiseShape& s, std::span<const float> a, std::span<const float> b,
                                 const NumericMode& m) {
  s.validate(b.empty() ? "relu" : "add");
  const FixedArith ar = FixedArith::of(m);
  std::vector<float> y(s.count);
  for (uint64_t i = 0; i < s.count; ++i) {
    float v = b.empty() ? a[i] : ar.add(a[i], b[i]);
    y[i] = (s.relu || b.empty()) ? FixedArith::relu(v) : v;
  }
  return y;
}

std::vector<double> eltwise_oracle(const EltwiseShape& s, std::span<const double> a, std::span<const double> b) {
  std::vector<double> y(s.count);
  for (uint64_t i = 0; i < s.count; ++i) {
    double v = b.empty() ? a[i] : a[i] + b[i];
    y[i] = (s.relu || b.empty()) ? (v > 0.0 ? v : 0.0) : v;
  }
  return y;
}

std::vector<double> widen(std::span<const float> v) { return std::vector<double>(v.begin(), v.end()); }

std::vector<float> flush_for(const NumericMode& m, std::span<const float> v) {
  std::vector<float> out(v.begin(), v.end());
  if (m.denorm == DenormRule::Ftz)
    for (float& f : out) f = flush_denormal(f);
  return out;
}

}  // namespace lockstep::ref
