#include "ops/dropout.hpp"

#include "numerics/philox.hpp"

namespace lockstep::ops {

namespace {
struct Push {
  uint32_t count, threshold, seed_lo, seed_hi, layer, training;
  float scale;
};
}  // namespace

Dropout::Dropout(Device& device, const DropoutShape& shape, const NumericMode& mode) : shape_(shape) {
  shape_.validate();
  kernel_ = &device.kernel(kernel_for(device, mode, "dropout", "dropout", 2, sizeof(Push), kElementWorkgroup));
}

void Dropout::record(Sequence& seq, const Buffer& x, const Buffer& y) const {
  const Push p{static_cast<uint32_t>(shape_.count),
               dropout_threshold(shape_.p),
               static_cast<uint32_t>(shape_.seed),
               static_cast<uint32_t>(shape_.seed >> 32),
               shape_.layer,
               shape_.training ? 1u : 0u,
               dropout_scale(shape_.p)};
  seq.dispatch(*kernel_, {{&x}, {&y}}, p, groups_for(shape_.count, kElementWorkgroup), "dropout");
}

}  // namespace lockstep::ops
