// Shapes of every op, their output sizes and their validation. Tensors are NCHW float32,
// convolution weights OIHW, dense weights [out][in] (as torch Linear and ONNX Gemm transB=1).
// validate() throws std::invalid_argument naming the op, the field and what was expected.
#pragma once
#include <cstdint>
#include <string>

namespace lockstep {

// Shaders index with 32-bit integers: no tensor may hold more elements than this.
inline constexpr uint64_t kMaxTensorElements = (1ull << 31) - 1;

struct Conv2dShape {
  uint32_t n = 1, c_in = 0, h = 0, w = 0, c_out = 0, kh = 1, kw = 1;
  uint32_t stride_h = 1, stride_w = 1;
  uint32_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool bias = true;
  bool relu = false;

  uint32_t out_h() const { return (h + pad_top + pad_bottom - kh) / stride_h + 1; }
  uint32_t out_w() const { return (w + pad_left + pad_right - kw) / stride_w + 1; }
  uint64_t input_elements() const { return uint64_t(n) * c_in * h * w; }
  uint64_t weight_elements() const { return uint64_t(c_out) * c_in * kh * kw; }
  uint64_t output_elements() const { return uint64_t(n) * c_out * out_h() * out_w(); }
  void validate() const;
};

struct DenseShape {
  uint32_t n = 1, in = 0, out = 0;
  bool bias = true;
  bool relu = false;
  uint64_t input_elements() const { return uint64_t(n) * in; }
  uint64_t weight_elements() const { return uint64_t(out) * in; }
  uint64_t output_elements() const { return uint64_t(n) * out; }
  void validate() const;
};

enum class PoolKind : uint8_t { Max, Average };

struct Pool2dShape {
  PoolKind kind = PoolKind::Max;
  uint32_t n = 1, c = 0, h = 0, w = 0, kh = 1, kw = 1;
  uint32_t stride_h = 1, stride_w = 1;
  uint32_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool count_include_pad = false;  // average only: divide by kh*kw instead of the valid taps

  uint32_t out_h() const { return (h + pad_top + pad_bottom - kh) / stride_h + 1; }
  uint32_t out_w() const { return (w + pad_left + pad_right - kw) / stride_w + 1; }
  uint64_t input_elements() const { return uint64_t(n) * c * h * w; }
  uint64_t output_elements() const { return uint64_t(n) * c * out_h() * out_w(); }
  void validate() const;
};

struct GlobalAvgPoolShape {
  uint32_t n = 1, c = 0, h = 0, w = 0;
  uint64_t input_elements() const { return uint64_t(n) * c * h * w; }
  uint64_t output_elements() const { return uint64_t(n) * c; }
  void validate() const;
};

// Residual add (a + b, optional ReLU) or ReLU alone, over `count` elements.
struct EltwiseShape {
  uint64_t count = 0;
  bool relu = false;
  void validate(const char* op) const;
};

struct SoftmaxShape {
  uint32_t rows = 1, cols = 0;  // softmax over each row of `cols` values
  uint64_t elements() const { return uint64_t(rows) * cols; }
  void validate() const;
};

struct DropoutShape {
  uint64_t count = 0;
  double p = 0.5;       // drop probability in [0, 1)
  bool training = false;  // false: identity (inference)
  uint64_t seed = 0;
  uint32_t layer = 0;   // part of the Philox counter, so two layers get independent masks
  void validate() const;
};

}  // namespace lockstep
