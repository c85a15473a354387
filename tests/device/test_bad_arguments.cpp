// Bad arguments give clear errors, never a crash or a validation error.
#include <array>
#include <cstdio>
#include <sys/wait.h>

#include "device/harness.hpp"
#include "ops/conv2d.hpp"
#include "ops/dense.hpp"
#include "ops/pool2d.hpp"
#include "ops/softmax.hpp"
#include "ops/dropout.hpp"
#include "vk/sequence.hpp"

namespace lockstep::test {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(BadArguments, ZeroDimensionsNameTheOpAndField) {
  Conv2dShape c;
  c.c_in = 3, c.h = 0, c.w = 5, c.c_out = 2, c.kh = 3, c.kw = 3;
  EXPECT_EQ(error_of([&] { ops::Conv2d(device(), c, NumericMode{}); }), "conv2d: input height is 0: expected >= 1");
  c.h = 5;
  c.stride_h = 0;
  EXPECT_EQ(error_of([&] { ops::Conv2d(device(), c, NumericMode{}); }), "conv2d: stride height is 0: expected >= 1");
  EXPECT_NE(error_of([&] { ops::Dense(device(), DenseShape{1, 0, 3}, NumericMode{}); }).find("dense: input features is 0"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ops::Softmax(device(), SoftmaxShape{1, 0}, NumericMode{}); }).find("softmax: columns is 0"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ops::Dropout(device(), DropoutShape{10, 1.0, true}, NumericMode{}); }).find("probability"),
            std::string::npos);
}

TEST(BadArguments, KernelLargerThanPaddedInputAndPadTooLarge) {
  Pool2dShape p;
  p.c = 1, p.h = 2, p.w = 2, p.kh = 5, p.kw = 1;
  EXPECT_NE(error_of([&] { ops::Pool2d(device(), p, NumericMode{}); }).find("smaller than the kernel height"),
            std::string::npos);
  p.kh = 3, p.pad_top = 3;
  EXPECT_NE(error_of([&] { ops::Pool2d(device(), p, NumericMode{}); }).find("padding"), std::string::npos);
}

TEST(BadArguments, AbsurdSizesAreRefusedBeforeAllocation) {
  Conv2dShape c;
  c.n = 65536, c.c_in = 65536, c.h = 1024, c.w = 1024, c.c_out = 1, c.kh = 1, c.kw = 1;
  EXPECT_NE(error_of([&] { ops::Conv2d(device(), c, NumericMode{}); }).find("elements: expected at most"),
            std::string::npos);
}

TEST(BadArguments, MismatchedWeightShape) {
  const DenseShape s{1, 10, 4};
  const std::vector<float> w(39, 0.0f);
  EXPECT_NE(error_of([&] { ops::upload_dense_weights(device(), s, w); }).find("weight has 39 values, expected 40"),
            std::string::npos);
}

TEST(BadArguments, WrongBindingCountIsAnErrorNotAValidationMessage) {
  ops::Softmax op(device(), SoftmaxShape{1, 4}, NumericMode{});
  Buffer x = device().create_buffer(16);
  Sequence seq(device());
  // Recording with a kernel but the wrong push size must throw before reaching Vulkan.
  const Kernel& k = device().kernel(KernelDesc{device().fixed_variant("softmax_fixed", NumericMode{}), 2, 16, 64,
                                               {{0, 0}, {1, 0}}, false});
  EXPECT_THROW(seq.dispatch(k, {{&x}}, nullptr, 0, 1), std::invalid_argument);
  EXPECT_THROW(seq.dispatch(k, {{&x}, {&x}}, nullptr, 8, 1), std::invalid_argument);
}

TEST(BadArguments, DeviceIndexOutOfRangeAndUnknownNames) {
  EXPECT_NE(error_of([] { context().select("99"); }).find("device index 99 is out of range"), std::string::npos);
  EXPECT_NE(error_of([] { context().select("no-such-gpu"); }).find("no device matches 'no-such-gpu'"), std::string::npos);
  EXPECT_THROW(Device(context(), 99), std::invalid_argument);
}

TEST(BadArguments, UnsupportedContractIsRefusedWithTheReason) {
  const auto& t = device().traits();
  const NumericMode fma{Order::Fixed, MacContract::Fma, DenormRule::Preserve};
  if (!t.refusal(fma)) GTEST_SKIP() << "this device can run the fma contract";
  const std::string msg = error_of([&] { ops::Dense(device(), DenseShape{1, 8, 8}, fma); });
  EXPECT_NE(msg.find("cannot run fixed/fma/preserve"), std::string::npos) << msg;
  EXPECT_NE(msg.find(t.name), std::string::npos) << msg;
}

TEST(BadArguments, UnknownContractNames) {
  EXPECT_EQ(error_of([] { parse_contract("fused"); }), "contract 'fused' is not one of: muladd, fma");
  EXPECT_EQ(error_of([] { parse_order("sorted"); }), "order 'sorted' is not one of: fixed, free");
  EXPECT_EQ(error_of([] { parse_denorm("flush"); }), "denormal rule 'flush' is not one of: preserve, ftz");
}

// The CLI: a bad device gives a message and exit status 2, not a crash.
TEST(BadArguments, CliRefusesAnOutOfRangeDevice) {
  FILE* p = ::popen(LOCKSTEP_CLI " --device 99 devices 2>&1", "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  std::array<char, 256> buf;
  while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  const int status = ::pclose(p);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2) << out;
  EXPECT_NE(out.find("device index 99 is out of range"), std::string::npos) << out;
}

}  // namespace lockstep::test
