// Hand-built ONNX models for the forms exporters write beyond torch's defaults: each checks
// the imported layers and parameters, and the CPU reference output against float64 math.
#include <gtest/gtest.h>

#include <cmath>

#include "onnx/onnx_import.hpp"
#include "onnx_test_util.hpp"

namespace lockstep::onnx::test {
namespace {

using graph::LayerKind;

// x [N, 3, 2, 2] -> Flatten -> Gemm(B [12][5] transB 0, C [5]).
TEST(OnnxImport, GemmTransB0IsTransposed) {
  const auto b = random_values(12 * 5, 1), c = random_values(5, 2);
  ModelBuilder m;
  m.input("x", {-1, 3, 2, 2}).output("y").init("B", {12, 5}, b).init("C", {5}, c);
  m.node("Flatten", {"x"}, {"f"}, "flatten");
  attr(m.node("Gemm", {"f", "B", "C"}, {"y"}, "fc"), "transB", int64_t(0));
  const graph::Network net = import_onnx(m.save("gemm_transb0.onnx"));
  ASSERT_EQ(net.layers.size(), 3u);
  EXPECT_EQ(net.layers[2].kind, LayerKind::Dense);
  EXPECT_EQ(net.layers[2].units, 5u);
  const auto& w = net.params.at("fc.weight");
  for (int u = 0; u < 5; ++u)
    for (int k = 0; k < 12; ++k) ASSERT_EQ(w[u * 12 + k], b[k * 5 + u]);
  const auto x = random_values(2 * 12, 3);
  std::vector<double> want(10);
  for (int n = 0; n < 2; ++n)
    for (int u = 0; u < 5; ++u) {
      double acc = c[u];
      for (int k = 0; k < 12; ++k) acc += double(x[n * 12 + k]) * b[k * 5 + u];
      want[n * 5 + u] = acc;
    }
  EXPECT_LT(max_rel_error(reference_output(net, x, 2), want), 1e-6);
}

// Keras/tf2onnx Dense: Reshape -> MatMul(B [in][units]) -> Add(bias [1, units]) -> Softmax.
TEST(OnnxImport, MatMulAddBecomesDenseWithBias) {
  const auto b = random_values(8 * 4, 4), bias = random_values(4, 5);
  ModelBuilder m(11);
  m.input("x", {-1, 2, 2, 2}).output("p").init("W", {8, 4}, b).init("bias", {1, 4}, bias).init_i64("shape", {2}, {-1, 8});
  m.node("Reshape", {"x", "shape"}, {"flat"}, "reshape");
  m.node("MatMul", {"flat", "W"}, {"mm"}, "dense/MatMul");
  m.node("Add", {"bias", "mm"}, {"logits"}, "dense/BiasAdd");  // constant first: either order
  m.node("Softmax", {"logits"}, {"p"}, "softmax");
  const graph::Network net = import_onnx(m.save("matmul_add.onnx"));
  ASSERT_EQ(net.layers.size(), 4u);  // input, flatten, dense (with bias), softmax
  EXPECT_EQ(net.layers[2].name, "dense_MatMul");
  EXPECT_TRUE(net.layers[2].bias);
  EXPECT_EQ(net.params.at("dense_MatMul.bias"), bias);
  EXPECT_EQ(net.layers[3].kind, LayerKind::Softmax);
  const auto x = random_values(8, 6);
  std::vector<double> z(4), want(4);
  double sum = 0;
  for (int u = 0; u < 4; ++u) {
    z[u] = bias[u];
    for (int k = 0; k < 8; ++k) z[u] += double(x[k]) * b[k * 4 + u];
    sum += std::exp(z[u]);
  }
  for (int u = 0; u < 4; ++u) want[u] = std::exp(z[u]) / sum;
  EXPECT_LT(max_rel_error(reference_output(net, x), want), 1e-6);
}

// tf2onnx writes a convolution's bias as an Add of [1, C, 1, 1]; a Gemm's C may be a scalar.
TEST(OnnxImport, BiasAddAndScalarBias) {
  const auto w = random_values(3 * 2 * 1 * 1, 20), bias = random_values(3, 21), fc = random_values(4 * 12, 22);
  ModelBuilder m;
  m.input("x", {-1, 2, 2, 2}).output("y").init("W", {3, 2, 1, 1}, w).init("b", {1, 3, 1, 1}, bias);
  m.init("fcW", {4, 12}, fc).init("c", {}, {0.25f});
  m.node("Conv", {"x", "W"}, {"c0"}, "conv");
  m.node("Add", {"c0", "b"}, {"c1"}, "conv_bias");
  m.node("Flatten", {"c1"}, {"f"}, "flatten");
  attr(m.node("Gemm", {"f", "fcW", "c"}, {"y"}, "fc"), "transB", int64_t(1));
  const graph::Network net = import_onnx(m.save("bias_add.onnx"));
  ASSERT_EQ(net.layers.size(), 4u);
  EXPECT_TRUE(net.layers[1].bias);
  EXPECT_EQ(net.params.at("conv.bias"), bias);
  EXPECT_EQ(net.params.at("fc.bias"), std::vector<float>(4, 0.25f));
}

// A bias is folded only where the Add is the layer's one reader, through any alias of it.
TEST(OnnxImport, BiasNotFoldedIntoSharedLayer) {
  ModelBuilder m;
  m.input("x", {-1, 2, 1, 1}).output("y").init("W", {2, 2}, {1, 2, 3, 4}).init("b", {2}, {1, 1});
  m.node("Flatten", {"x"}, {"f"}, "flatten");
  m.node("MatMul", {"f", "W"}, {"d"}, "matmul");
  m.node("Identity", {"d"}, {"d2"}, "alias");
  m.node("Add", {"d2", "b"}, {"biased"}, "bias_add");
  m.node("Relu", {"d"}, {"r"}, "other_reader");
  m.node("Add", {"biased", "r"}, {"y"}, "sum");
  const std::string path = m.save("shared_bias.onnx");
  try {
    import_onnx(path);
    ADD_FAILURE() << "the bias was folded into a layer another node reads";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bias_add"), std::string::npos) << e.what();
  }
}

// ceil_mode 1 is accepted where every window fits (it changes nothing there).
TEST(OnnxImport, CeilModeWhereWindowsFit) {
  ModelBuilder m;
  m.input("x", {-1, 1, 4, 4}).output("y");
  auto& p = m.node("MaxPool", {"x"}, {"y"}, "pool");
  attr(p, "kernel_shape", std::vector<int64_t>{2, 2}), attr(p, "strides", std::vector<int64_t>{2, 2});
  attr(p, "ceil_mode", int64_t(1));
  const graph::Network net = import_onnx(m.save("ceil_fits.onnx"));
  EXPECT_EQ(net.layers[1].out, (graph::Shape3{1, 2, 2}));
}

// Reshape forms: [1, -1] with a fixed batch of 1 (shape from a Constant node, value_ints),
// [0, -1] (initializer), [-1, features]; all are a Flatten.
TEST(OnnxImport, ReshapeToFlatten) {
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{1, -1}, {0, -1}, {-1, 12}, {1, 12}}) {
    ModelBuilder m;
    m.input("x", {1, 3, 2, 2}).output("y").init("W", {2, 12}, random_values(24, 7));
    attr(m.node("Constant", {}, {"shape"}, "shape_const"), "value_ints", shape);
    m.node("Reshape", {"x", "shape"}, {"flat"}, "reshape");
    attr(m.node("Gemm", {"flat", "W"}, {"y"}, "fc"), "transB", int64_t(1));
    const graph::Network net = import_onnx(m.save("reshape.onnx"));
    ASSERT_EQ(net.layers.size(), 3u);
    EXPECT_EQ(net.layers[1].kind, LayerKind::Flatten);
    EXPECT_EQ(net.layers[2].out, (graph::Shape3{2, 1, 1}));
  }
}

// auto_pad SAME_UPPER / SAME_LOWER from the input size; asymmetric explicit pads.
TEST(OnnxImport, ConvPadding) {
  struct Case {
    const char* auto_pad;
    std::vector<int64_t> pads;
    uint32_t t, l, b, r;
  };
  // Input 6x7, kernel 3, stride 2: out 3x4; total pad 1 vertically, 2 horizontally.
  const Case cases[] = {{"SAME_UPPER", {}, 0, 1, 1, 1}, {"SAME_LOWER", {}, 1, 1, 0, 1}, {"NOTSET", {1, 0, 2, 1}, 1, 0, 2, 1},
                        {"VALID", {}, 0, 0, 0, 0}};
  const auto w = random_values(4 * 2 * 3 * 3, 8), bias = random_values(4, 9), x = random_values(2 * 2 * 6 * 7, 10);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.auto_pad);
    ModelBuilder m;
    m.input("x", {-1, 2, 6, 7}).output("y").init("W", {4, 2, 3, 3}, w).init("B", {4}, bias);
    auto& n = m.node("Conv", {"x", "W", "B"}, {"y"}, "conv");
    attr(n, "strides", std::vector<int64_t>{2, 2});
    attr(n, "kernel_shape", std::vector<int64_t>{3, 3});
    if (c.pads.empty()) attr(n, "auto_pad", std::string(c.auto_pad));
    else attr(n, "pads", c.pads);
    const graph::Network net = import_onnx(m.save("conv_pad.onnx"));
    const graph::Layer& l = net.layers[1];
    EXPECT_EQ(l.pad_top, c.t);
    EXPECT_EQ(l.pad_left, c.l);
    EXPECT_EQ(l.pad_bottom, c.b);
    EXPECT_EQ(l.pad_right, c.r);
    const ConvSpec s{2, 2, 6, 7, 4, 3, 3, 2, 2, c.t, c.l, c.b, c.r};
    EXPECT_LT(max_rel_error(reference_output(net, x, 2), naive_conv(s, x, w, bias)), 1e-6);
  }
}

// Dropout: ratio input (opset 13), ratio attribute (opset 11), default 0.5; identity at
// inference. Identity nodes (of an activation and of a weight) add no layer.
TEST(OnnxImport, DropoutAndIdentity) {
  struct Case {
    int opset;
    float ratio;  // < 0: none given
    double p;
  };
  for (const Case c : {Case{13, 0.3f, 0.3}, Case{11, 0.2f, 0.2}, Case{13, -1.0f, 0.5}, Case{11, -1.0f, 0.5}}) {
    ModelBuilder m(c.opset);
    m.input("x", {-1, 2, 3, 3}).output("y").init("W", {2, 2, 1, 1}, {1, 0, 0, 1});
    m.node("Identity", {"W"}, {"W2"}, "weight_alias");
    m.node("Conv", {"x", "W2"}, {"c"}, "conv");
    m.node("Identity", {"c"}, {"c2"}, "alias");
    std::vector<std::string> ins = {"c2"};
    if (c.ratio >= 0 && c.opset >= 12) {
      m.init("ratio", {}, {c.ratio});
      ins.push_back("ratio");
    }
    auto& d = m.node("Dropout", ins, {"y"}, "drop");
    if (c.ratio >= 0 && c.opset < 12) attr(d, "ratio", c.ratio);
    const graph::Network net = import_onnx(m.save("dropout.onnx"));
    ASSERT_EQ(net.layers.size(), 3u);
    EXPECT_EQ(net.layers[2].kind, LayerKind::Dropout);
    EXPECT_EQ(net.layers[2].dropout_p, c.p);  // the decimal the author wrote, not float(0.3)
    const auto x = random_values(18, 11);
    EXPECT_EQ(reference_output(net, x), x);  // identity weight, inference dropout
  }
}

// Constant nodes: a Conv weight (value tensor in float_data), a bias (value_floats).
TEST(OnnxImport, ConstantNodes) {
  const auto w = random_values(3 * 1 * 2 * 2, 12);
  ModelBuilder m;
  m.input("x", {-1, 1, 4, 4}).output("y");
  auto& cw = m.node("Constant", {}, {"W"}, "w_const");
  auto& a = *cw.add_attribute();
  a.set_name("value"), a.set_type(::onnx::AttributeProto::TENSOR);
  a.mutable_t()->set_data_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : {3, 1, 2, 2}) a.mutable_t()->add_dims(d);
  for (float v : w) a.mutable_t()->add_float_data(v);
  auto& cb = m.node("Constant", {}, {"B"}, "b_const");
  auto& ab = *cb.add_attribute();
  ab.set_name("value_floats"), ab.set_type(::onnx::AttributeProto::FLOATS);
  for (float v : {0.5f, -0.25f, 1.0f}) ab.add_floats(v);
  m.node("Conv", {"x", "W", "B"}, {"y"}, "conv");
  const graph::Network net = import_onnx(m.save("constant.onnx"));
  ASSERT_EQ(net.layers.size(), 2u);
  EXPECT_EQ(net.params.at("conv.weight"), w);
  EXPECT_EQ(net.params.at("conv.bias"), (std::vector<float>{0.5f, -0.25f, 1.0f}));
  const auto x = random_values(16, 13);
  EXPECT_LT(max_rel_error(reference_output(net, x), naive_conv({1, 1, 4, 4, 3, 2, 2}, x, w, {0.5f, -0.25f, 1.0f})), 1e-6);
}

// BatchNormalization after a Conv read only by it is a BatchNorm layer; elsewhere (here right
// after the input) a diagonal 1x1 convolution. Both match float64 batch norm.
TEST(OnnxImport, BatchNormalization) {
  const auto gamma = random_values(2, 14, 0.5f, 1.5f), beta = random_values(2, 15), mean = random_values(2, 16),
             var = random_values(2, 17, 0.5f, 1.5f), w = random_values(2 * 2 * 3 * 3, 18);
  ModelBuilder m;
  m.input("x", {-1, 2, 5, 5}).output("y").init("g", {2}, gamma).init("b", {2}, beta).init("m", {2}, mean);
  m.init("v", {2}, var).init("W", {2, 2, 3, 3}, w);
  attr(m.node("BatchNormalization", {"x", "g", "b", "m", "v"}, {"bn0"}, "bn_input"), "epsilon", 1e-3f);
  attr(m.node("Conv", {"bn0", "W"}, {"c"}, "conv"), "pads", std::vector<int64_t>{1, 1, 1, 1});
  m.node("BatchNormalization", {"c", "g", "b", "m", "v"}, {"y"}, "bn_conv");
  const graph::Network net = import_onnx(m.save("batchnorm.onnx"));
  ASSERT_EQ(net.layers.size(), 4u);
  EXPECT_EQ(net.layers[1].kind, LayerKind::Conv2d);  // diagonal
  EXPECT_EQ(net.layers[3].kind, LayerKind::BatchNorm);
  EXPECT_EQ(net.layers[3].epsilon, 1e-5);
  const auto x = random_values(50, 19);
  auto bn = [&](std::vector<double> v, double eps) {
    for (size_t i = 0; i < v.size(); ++i) {
      const size_t c = (i / 25) % 2;
      v[i] = (v[i] - mean[c]) / std::sqrt(var[c] + eps) * gamma[c] + beta[c];
    }
    return v;
  };
  const auto first = bn(std::vector<double>(x.begin(), x.end()), double(1e-3f));
  const std::vector<float> first_f(first.begin(), first.end());
  const auto want = bn(naive_conv({1, 2, 5, 5, 2, 3, 3, 1, 1, 1, 1, 1, 1}, first_f, w, {}), 1e-5);
  EXPECT_LT(max_rel_error(reference_output(net, x), want), 1e-5);
}

// Layer names: sanitised node names, the output's name when a node has none, made unique.
TEST(OnnxImport, LayerNames) {
  ModelBuilder m;
  m.input("input.1", {-1, 1, 2, 2}).output("out");
  m.node("Relu", {"input.1"}, {"a"}, "/features/0/Relu");
  m.node("Relu", {"a"}, {"b"}, "/features/0/Relu");
  m.node("Relu", {"b"}, {"out"}, "");
  const graph::Network net = import_onnx(m.save("names.onnx"));
  ASSERT_EQ(net.layers.size(), 4u);
  EXPECT_EQ(net.layers[0].name, "input_1");
  EXPECT_EQ(net.layers[1].name, "_features_0_Relu");
  EXPECT_EQ(net.layers[2].name, "_features_0_Relu_2");
  EXPECT_EQ(net.layers[3].name, "out");
}

// Softmax: opset < 13 flattens from the axis (axis 1 on [N, C, H, W] is over all features);
// opset 13 reduces one axis, accepted where the other per-sample dims are 1.
TEST(OnnxImport, SoftmaxAxes) {
  {
    ModelBuilder m(11);
    m.input("x", {-1, 2, 3, 3}).output("y");
    m.node("Softmax", {"x"}, {"y"}, "sm");
    const graph::Network net = import_onnx(m.save("softmax11.onnx"));
    EXPECT_EQ(net.layers[1].kind, LayerKind::Softmax);
  }
  {
    ModelBuilder m(13);
    m.input("x", {-1, 5, 1, 1}).output("y");
    attr(m.node("Softmax", {"x"}, {"y"}, "sm"), "axis", int64_t(1));
    EXPECT_NO_THROW(import_onnx(m.save("softmax13.onnx")));
  }
}

// Layers the output does not depend on are dropped; the output is last.
TEST(OnnxImport, DeadBranchIsPruned) {
  ModelBuilder m;
  m.input("x", {-1, 1, 2, 2}).output("y");
  m.node("Relu", {"x"}, {"y"}, "kept");
  m.node("GlobalAveragePool", {"x"}, {"unused"}, "dead");
  const graph::Network net = import_onnx(m.save("dead.onnx"));
  ASSERT_EQ(net.layers.size(), 2u);
  EXPECT_EQ(net.layers[1].name, "kept");
}

// A fully convolutional export with symbolic H/W imports at the size the caller gives.
TEST(OnnxImport, SymbolicSizeWithOptions) {
  ModelBuilder m;
  m.input("x", {-1, 1, -1, -1}).output("y").init("W", {1, 1, 1, 1}, {2.0f});
  m.node("Conv", {"x", "W"}, {"y"}, "conv");
  ImportOptions o;
  o.input_height = 5, o.input_width = 7;
  const graph::Network net = import_onnx(m.save("symbolic.onnx"), o);
  EXPECT_EQ(net.layers[0].out, (graph::Shape3{1, 5, 7}));
}

// The in-memory overloads give the same network as the file.
TEST(OnnxImport, InMemoryOverloads) {
  ModelBuilder m;
  m.input("x", {-1, 1, 2, 2}).output("y");
  m.node("Relu", {"x"}, {"y"}, "relu");
  EXPECT_EQ(import_onnx(m.model()).layers.size(), 2u);
  EXPECT_EQ(import_onnx_bytes(m.bytes(), "bytes").layers[1].name, "relu");
}

}  // namespace
}  // namespace lockstep::onnx::test
