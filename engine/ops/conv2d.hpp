// Conv2d: NCHW input, weights in the packed layout of pack_weight (from OIHW), optional bias and
// fused ReLU; strides, asymmetric padding (taps in the padding read +0.0).
// Fixed order: shaders/conv2d_fixed.comp (canonical plan over input channels, see
// numerics/reduction_plan.hpp); free order: shaders/conv2d_free.comp. Both are register-tiled
// (shaders/conv2d.glsl): an invocation computes M output channels x P output pixels, with the
// tile shape, the way operands are read (texel or storage buffers), weight sharing across
// subgroup lanes and vec4 (texel) stores chosen per device and shape (describe() names the choice).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ops/op_common.hpp"
#include "tensor/shapes.hpp"
#include "vk/sequence.hpp"

namespace lockstep::ops {

// Overrides of the device's choice (tests and benchmarks); 0 / Auto: let the op choose.
struct Conv2dOptions {
  enum class Reads { Auto, Storage, Texel };
  uint32_t tile_channels = 0;  // M, a multiple of 4
  uint32_t tile_pixels = 0;    // P
  Reads reads = Reads::Auto;   // Texel is refused where the device cannot honour it
  int share = -1;              // lanes sharing weight loads: -1 auto, 0 none, else a power of two
  bool allow_flat = true;      // false: tiles within output rows even where flat tiles would do
  bool allow_texel_store = true;  // false: results through a storage buffer even where texel stores would do
};

// A residual add fused into the convolution's epilogue: the graph's Add of the convolution's
// output and another tensor of the output's shape, in the Add's operand order, then the shape's
// ReLU (the same bits as a separate Add).
enum class Conv2dResidual : uint32_t { None = 0, After = 1 /* conv + residual */, Before = 2 /* residual + conv */ };

class Conv2d {
 public:
  using Options = Conv2dOptions;
  using Residual = Conv2dResidual;

  Conv2d(Device& device, const Conv2dShape& shape, const NumericMode& mode, const Options& options = {},
         Residual residual = Residual::None);
  // `weight` holds pack_weight(OIHW); `bias` is ignored (but must be a valid buffer) when the
  // shape has no bias; `residual` (output-shaped) is read when the op fuses one, else ignored
  // (but must be a valid buffer).
  void record(Sequence& seq, const Buffer& x, const Buffer& weight, const Buffer& bias, const Buffer& y,
              const Buffer& residual) const;
  void record(Sequence& seq, const Buffer& x, const Buffer& weight, const Buffer& bias, const Buffer& y) const {
    record(seq, x, weight, bias, y, bias);
  }
  const Conv2dShape& shape() const { return shape_; }

  // The weight buffer's contents from an OIHW weight: [c_out / M][ci][ky][kx][M], zero-padded
  // past c_out (M = the tile's channels).
  std::vector<float> pack_weight(std::span<const float> oihw) const;
  // The chosen kernel, e.g. "conv2d 32co x 4px flat aligned, texel, share 8, vec4 texel stores, wg 64 = 64 tiles x 1".
  std::string describe() const;

 private:
  uint32_t tile_count() const;

  Conv2dShape shape_;
  const Kernel* kernel_ = nullptr;
  uint32_t mg_ = 1, p_ = 4;  // tile: 4*mg_ output channels x p_ pixels
  uint32_t share_ = 0;       // weights shared over groups of share_ lanes (0: none)
  uint32_t wg_ = 64;         // invocations per workgroup: tw_ tiles x wg_ / tw_ channel blocks
  uint32_t tw_ = 64;
  uint32_t cu_ = 1;          // input channels per loop iteration
  Residual residual_ = Residual::None;
  bool texel_ = false, flat_ = false, aligned_ = false, yvec_ = false;
  bool texel_store_ = false;  // results through an RGBA32F storage texel buffer (vec4 stores only)
};

}  // namespace lockstep::ops
