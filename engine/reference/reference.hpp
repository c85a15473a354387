// The CPU reference: for every op, the canonical float32 computation of the fixed-order
// contract (both MAC contracts, both denormal rules) and a float64 oracle of the intended
// mathematics (activations in double; weights are float32 as stored). Plain C++, no Vulkan. Fixed-order device output must equal `*_fixed` bit for bit.
//
// Canonical orders (see numerics/reduction_plan.hpp for the slicing):
// - conv2d: units are input channels ci ascending; inside a unit, taps (ky, kx) row-major.
//   Taps that fall in the padding read +0.0 (zero padding): they contribute a (+0.0 * w) product.
//   out = relu?(tree + bias).
// - dense: units are input features ascending. out = relu?(tree + bias).
// - average pool: units are window taps ky*kw+kx ascending, padding skipped; the sum is then
//   multiplied by host_reciprocal(count), count = kh*kw or the number of valid taps.
// - global average pool: units are h*w positions ascending; sum * host_reciprocal(h*w).
// - max pool: taps in (ky, kx) order, m = first valid tap, then m = v > m ? v : m.
// - softmax: m = running max (v > m ? v : m), e = soft_exp(x - m), sum canonically,
//   y = soft_divide(e, sum, soft_reciprocal(sum)).
// - add: a + b then ReLU; ReLU is x > 0 ? x : +0; dropout: keep ? x * scale : +0.
#pragma once
#include <span>
#include <vector>

#include "numerics/contract.hpp"
#include "tensor/shapes.hpp"

namespace lockstep::ref {

std::vector<float> conv2d_fixed(const Conv2dShape& s, std::span<const float> x, std::span<const float> w,
                                std::span<const float> b, const NumericMode& m);
std::vector<double> conv2d_oracle(const Conv2dShape& s, std::span<const double> x, std::span<const float> w,
                                  std::span<const float> b);

std::vector<float> dense_fixed(const DenseShape& s, std::span<const float> x, std::span<const float> w,
                               std::span<const float> b, const NumericMode& m);
std::vector<double> dense_oracle(const DenseShape& s, std::span<const double> x, std::span<const float> w,
                                 std::span<const float> b);

std::vector<float> pool2d_fixed(const Pool2dShape& s, std::span<const float> x, const NumericMode& m);
std::vector<double> pool2d_oracle(const Pool2dShape& s, std::span<const double> x);

std::vector<float> global_avg_pool_fixed(const GlobalAvgPoolShape& s, std::span<const float> x,
                                         const NumericMode& m);
std::vector<double> global_avg_pool_oracle(const GlobalAvgPoolShape& s, std::span<const double> x);

// b empty: ReLU alone.
std::vector<float> eltwise_fixed(const EltwiseShape& s, std::span<const float> a, std::span<const float> b,
                                 const NumericMode& m);
std::vector<double> eltwise_oracle(const EltwiseShape& s, std::span<const double> a, std::span<const double> b);

std::vector<float> softmax_fixed(const SoftmaxShape& s, std::span<const float> x, const NumericMode& m);
std::vector<double> softmax_oracle(const SoftmaxShape& s, std::span<const double> x);

std::vector<float> dropout_fixed(const DropoutShape& s, std::span<const float> x, const NumericMode& m);
std::vector<double> dropout_oracle(const DropoutShape& s, std::span<const double> x);

// Oracles take activations in double, so whole networks can be followed in float64.
std::vector<double> widen(std::span<const float> v);

// ftz: the host flushes inputs and weights so that no operand is ever denormal.
std::vector<float> flush_for(const NumericMode& m, std::span<const float> v);

}  // namespace lockstep::ref
