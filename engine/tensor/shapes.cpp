#include "tensor/shapes.hpp"

#include <stdexcept>

namespace lockstep {

namespace {
[[noreturn]] void fail(const std::string& op, const std::string& what) {
  throw std::invalid_argument(op + ": " + what);
}
void positive(const char* op, const char* field, uint64_t v) {
  if (v == 0) fail(op, std::string(field) + " is 0: expected >= 1");
}
void fits(const char* op, const char* what, uint64_t elements) {
  if (elements > kMaxTensorElements)
    fail(op, std::string(what) + " has " + std::to_string(elements) +
                 " elements: expected at most " + std::to_string(kMaxTensorElements));
}
template <class S>
void window(const char* op, const S& s) {
  positive(op, "kernel height", s.kh);
  positive(op, "kernel width", s.kw);
  positive(op, "stride height", s.stride_h);
  positive(op, "stride width", s.stride_w);
  if (s.pad_top >= s.kh || s.pad_bottom >= s.kh)
    fail(op, "vertical padding " + std::to_string(s.pad_top) + "/" + std::to_string(s.pad_bottom) +
                 ": expected less than the kernel height " + std::to_string(s.kh));
  if (s.pad_left >= s.kw || s.pad_right >= s.kw)
    fail(op, "horizontal padding " + std::to_string(s.pad_left) + "/" +
                 std::to_string(s.pad_right) + ": expected less than the kernel width " +
                 std::to_string(s.kw));
  if (uint64_t(s.h) + s.pad_top + s.pad_bottom < s.kh)
    fail(op, "padded input height " + std::to_string(s.h + s.pad_top + s.pad_bottom) +
                 " is smaller than the kernel height " + std::to_string(s.kh));
  if (uint64_t(s.w) + s.pad_left + s.pad_right < s.kw)
    fail(op, "padded input width " + std::to_string(s.w + s.pad_left + s.pad_right) +
                 " is smaller than the kernel width " + std::to_string(s.kw));
}
}  // namespace

void Conv2dShape::validate() const {
  const char* op = "conv2d";
  positive(op, "batch", n);
  positive(op, "input channels", c_in);
  positive(op, "input height", h);
  positive(op, "input width", w);
  positive(op, "output channels", c_out);
  window(op, *this);
  fits(op, "input", input_elements());
  fits(op, "weight", weight_elements());
  fits(op, "output", output_elements());
}

void DenseShape::validate() const {
  const char* op = "dense";
  positive(op, "batch", n);
  positive(op, "input features", in);
  positive(op, "output features", out);
  fits(op, "input", input_elements());
  // The weight may exceed a binding range (it is split), but not 32-bit row indexing.
  if (weight_elements() > (uint64_t(1) << 40)) fail(op, "weight is absurdly large");
  fits(op, "output", output_elements());
}

void Pool2dShape::validate() const {
  const char* op = kind == PoolKind::Max ? "max_pool" : "average_pool";
  positive(op, "batch", n);
  positive(op, "channels", c);
  positive(op, "input height", h);
  positive(op, "input width", w);
  window(op, *this);
  fits(op, "input", input_elements());
  fits(op, "output", output_elements());
}

void GlobalAvgPoolShape::validate() const {
  const char* op = "global_average_pool";
  positive(op, "batch", n);
  positive(op, "channels", c);
  positive(op, "input height", h);
  positive(op, "input width", w);
  fits(op, "input", input_elements());
}

void EltwiseShape::validate(const char* op) const {
  positive(op, "element count", count);
  fits(op, "tensor", count);
}

void SoftmaxShape::validate() const {
  positive("softmax", "rows", rows);
  positive("softmax", "columns", cols);
  fits("softmax", "tensor", elements());
}

void DropoutShape::validate() const {
  positive("dropout", "element count", count);
  fits("dropout", "tensor", count);
  if (!(p >= 0.0 && p < 1.0))
    fail("dropout", "probability " + std::to_string(p) + ": expected 0 <= p < 1");
}

}  // namespace lockstep
