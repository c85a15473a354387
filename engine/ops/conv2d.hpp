// Conv2d: NCHW input, OIHW weight (or the packed layout of pack_weight), optional bias and fused
// ReLU; strides, asymmetric padding.
// Fixed order: shaders/conv2d_tiled_fixed.comp (canonical plan over input channels, see
// numerics/reduction_plan.hpp); free order: shaders/conv2d_tiled_free.comp. Both are register-
// tiled (shaders/conv2d_tiled.glsl): an invocation computes 4*TC output channels x TP output
// pixels of a row, with the tile shape, weight sharing and vector loads chosen per device.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ops/op_common.hpp"
#include "tensor/shapes.hpp"
#include "vk/sequence.hpp"

namespace lockstep::ops {

enum class Conv2dWeightLayout {
  Oihw,    // the weight buffer is OIHW, as stored
  Packed,  // the weight buffer holds Conv2d::pack_weight(OIHW): faster to read
};

struct Conv2dOptions {
  Conv2dWeightLayout weights = Conv2dWeightLayout::Oihw;
  uint32_t tile_channels = 0;  // output channels per invocation, a multiple of 4; 0: chosen for the device
  uint32_t tile_pixels = 0;    // output pixels per invocation; 0: chosen for the device
};

class Conv2d {
 public:
  using WeightLayout = Conv2dWeightLayout;
  using Options = Conv2dOptions;

  Conv2d(Device& device, const Conv2dShape& shape, const NumericMode& mode, const Options& options = {});
  // `weight` in the layout of options.weights; `bias` is ignored (but must be a valid buffer)
  // when the shape has no bias.
  void record(Sequence& seq, const Buffer& x, const Buffer& weight, const Buffer& bias, const Buffer& y) const;
  const Conv2dShape& shape() const { return shape_; }

  // The weight buffer's contents for this op from an OIHW weight: with WeightLayout::Packed
  // [co / tile_channels][ci][ky][kx][tile_channels] with zeros past c_out, else OIHW unchanged.
  std::vector<float> pack_weight(std::span<const float> oihw) const;
  // The chosen kernel, e.g. "conv2d 16co x 8px, wg 64 = 16 tiles x 4, share 8, vec4 rows, packed".
  std::string describe() const;

 private:
  Conv2dShape shape_;
  Options options_;
  const Kernel* kernel_ = nullptr;
  uint32_t tc_ = 1, tp_ = 1;    // tile: 4*tc_ output channels x tp_ pixels
  uint32_t share_ = 0;          // weights shared over groups of share_ lanes (0: none)
  uint32_t xvec_ = 1;           // 4: input rows read as vec4s
  uint32_t tw_ = 64, wg_ = 64;  // tiles per workgroup, invocations per workgroup
  bool flat_ = false;           // 1x1, stride 1, no padding: the image as one row of h*w pixels
};

}  // namespace lockstep::ops
