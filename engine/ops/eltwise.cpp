#include "ops/eltwise.hpp"

namespace lockstep::ops {

namespace {
struct Push {
  uint32_t count, has_b;
};
}  // namespace

Eltwise::Eltwise(Device& device, Kind kind, const EltwiseShape& shape, const NumericMode& mode)
    : kind_(kind), shape_(shape) {
  shape_.validate(kind == Kind::Add ? "add" : "relu");
  kernel_ = &device.kernel(kernel_for(device, mode, "eltwise", "eltwise", 3, sizeof(Push), kElementWorkgroup,
                                      {{kSpecFlagB, shape.relu ? 1u : 0u}}));
}

void Eltwise::record(Sequence& seq, const Buffer& a, const Buffer& b, const Buffer& y) const {
  const Push p{static_cast<uint32_t>(shape_.count), kind_ == Kind::Add ? 1u : 0u};
  seq.dispatch(*kernel_, {{&a}, {&b}, {&y}}, p, groups_for(shape_.count, kElementWorkgroup),
               kind_ == Kind::Add ? "add" : "relu");
}

}  // namespace lockstep::ops
