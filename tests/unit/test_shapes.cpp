// Shape rules and validation messages.
#include <gtest/gtest.h>

#include "tensor/shapes.hpp"

namespace lockstep {

TEST(Shapes, ConvOutputSizes) {
  Conv2dShape s;
  s.c_in = 3, s.h = 224, s.w = 224, s.c_out = 64, s.kh = 7, s.kw = 7, s.stride_h = s.stride_w = 2;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 3;
  EXPECT_EQ(s.out_h(), 112u);
  EXPECT_EQ(s.out_w(), 112u);
  s.pad_bottom = s.pad_right = 2;  // asymmetric (TensorFlow "same" with stride 2)
  EXPECT_EQ(s.out_h(), 112u);
  EXPECT_NO_THROW(s.validate());
}

TEST(Shapes, ValidationNamesOpAndField) {
  Pool2dShape p;
  p.c = 1, p.h = 4, p.w = 4, p.kh = 2, p.kw = 2, p.stride_w = 0;
  try {
    p.validate();
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "max_pool: stride width is 0: expected >= 1");
  }
  EXPECT_THROW((DenseShape{0, 1, 1}.validate()), std::invalid_argument);
  EXPECT_THROW((GlobalAvgPoolShape{1, 1, 0, 1}.validate()), std::invalid_argument);
  EXPECT_THROW((EltwiseShape{0}.validate("add")), std::invalid_argument);
  EXPECT_THROW((DropoutShape{5, -0.1}.validate()), std::invalid_argument);
}

}  // namespace lockstep
