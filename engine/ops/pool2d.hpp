// Max pool and average pool (with or without counting padding), the same shaders for both
// orders: shaders/pool2d.comp (one output per invocation), and for max pools with windows up to
// 8x8 shaders/max_pool_rows.comp (4 outputs of a row per invocation, rows read as vec4s: the same
// bits, several times fewer reads). Average pool multiplies by reciprocals of the tap counts,
// rounded once on the host (a table of 1/1 .. 1/(kh*kw)).
#pragma once
#include "ops/op_common.hpp"
#include "tensor/shapes.hpp"
#include "vk/sequence.hpp"

namespace lockstep::ops {

class Pool2d {
 public:
  // allow_rows = false: the one-output-per-invocation kernel even where the row kernel would do.
  Pool2d(Device& device, const Pool2dShape& shape, const NumericMode& mode, bool allow_rows = true);
  void record(Sequence& seq, const Buffer& x, const Buffer& y) const;
  const Pool2dShape& shape() const { return shape_; }

 private:
  Pool2dShape shape_;
  const Kernel* kernel_ = nullptr;
  Buffer reciprocals_;
  uint32_t rows_p_ = 0;  // outputs per invocation of max_pool_rows (0: pool2d.comp)
};

}  // namespace lockstep::ops
