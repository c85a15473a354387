// Max pool and average pool (with or without counting padding), one shader for both orders:
// shaders/pool2d.comp. Average pool multiplies by reciprocals of the tap counts, rounded once
// on the host (a table of 1/1 .. 1/(kh*kw)).
#pragma once
#include "ops/op_common.hpp"
#include "tensor/shapes.hpp"
#include "vk/sequence.hpp"

namespace lockstep::ops {

class Pool2d {
 public:
  Pool2d(Device& device, const Pool2dShape& shape, const NumericMode& mode);
  void record(Sequence& seq, const Buffer& x, const Buffer& y) const;
  const Pool2dShape& shape() const { return shape_; }

 private:
  Pool2dShape shape_;
  const Kernel* kernel_ = nullptr;
  Buffer reciprocals_;
};

}  // namespace lockstep::ops
