// Flatten is a change of shape over NCHW-contiguous data: no dispatch, identical bits.
#include <gtest/gtest.h>

#include <stdexcept>

#include "ops/flatten.hpp"

namespace lockstep::test {

TEST(Flatten, ShapeRules) {
  EXPECT_EQ(ops::flatten_shape({2, 512, 7, 7}), (std::vector<uint64_t>{2, 25088}));
  EXPECT_EQ(ops::flatten_shape({2, 512, 7, 7}, 0), (std::vector<uint64_t>{1, 50176}));
  EXPECT_EQ(ops::flatten_shape({3, 4, 5}, 2), (std::vector<uint64_t>{12, 5}));
  EXPECT_EQ(ops::flatten_shape({3, 4}, 2), (std::vector<uint64_t>{12, 1}));
}

TEST(Flatten, BadArguments) {
  EXPECT_THROW(ops::flatten_shape({2, 3}, 3), std::invalid_argument);
  EXPECT_THROW(ops::flatten_shape({2, 0, 3}), std::invalid_argument);
}

}  // namespace lockstep::test
