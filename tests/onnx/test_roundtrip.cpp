// Built-in architectures with synthetic weights, exported to ONNX (torch.onnx.export layout)
// and imported back: the same layers and parameters, and the same output bits as the built-in
// network, on the CPU reference and on the device in fixed order.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <ostream>
#include <tuple>

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include "device_env.hpp"
#include "graph/executor.hpp"
#include "graph/reference_forward.hpp"
#include "models/models.hpp"
#include "onnx/onnx_export.hpp"
#include "onnx/onnx_import.hpp"
#include "onnx_test_util.hpp"

namespace lockstep::onnx::test {
namespace {

struct RoundTrip {
  const char* arch;
  models::Layout layout;
  uint32_t size;
  int opset;
};

std::string case_name(const RoundTrip& r) {
  return std::string(r.arch) + "_" + models::layout_name(r.layout) + "_" + std::to_string(r.size) + "_opset" +
         std::to_string(r.opset);
}

void PrintTo(const RoundTrip& r, std::ostream* os) { *os << case_name(r); }

constexpr uint32_t kBatch = 2;

// The built-in network, its imported twin (both prepared), an input and the built-in
// network's reference output.
struct Pair {
  graph::Network built, imported;
  std::vector<float> input, expected;
};

Pair make_pair(const RoundTrip& r) {
  models::ModelOptions o;
  o.arch = r.arch, o.layout = r.layout, o.input_size = r.size, o.classes = 10;
  Pair p;
  p.built = models::build(o);
  models::init_synthetic(p.built, 2024);
  const std::string path = temp_path(case_name(r) + ".onnx");
  save_onnx(p.built, path, r.opset);
  p.imported = import_onnx(path);

  // Every built-in layer is there with the same parameters; the export adds at most a Flatten
  // before the classifier (torch.flatten after the global pool).
  EXPECT_EQ(p.imported.params, p.built.params);
  EXPECT_LE(p.imported.layers.size(), p.built.layers.size() + 1);
  for (const graph::Layer& l : p.built.layers) {
    const int i = p.imported.find(l.name);
    EXPECT_GE(i, 0) << l.name;
    if (i < 0) continue;
    const graph::Layer& m = p.imported.layers[i];
    EXPECT_EQ(m.kind, l.kind) << l.name;
    EXPECT_EQ(m.out, l.out) << l.name;
    EXPECT_EQ(std::tie(m.kh, m.kw, m.stride_h, m.stride_w, m.pad_top, m.pad_left, m.pad_bottom, m.pad_right),
              std::tie(l.kh, l.kw, l.stride_h, l.stride_w, l.pad_top, l.pad_left, l.pad_bottom, l.pad_right))
        << l.name;
    EXPECT_EQ(m.epsilon, l.epsilon) << l.name;
    EXPECT_EQ(m.dropout_p, l.dropout_p) << l.name;
  }
  graph::prepare(p.built);
  graph::prepare(p.imported);
  EXPECT_EQ(p.imported.params, p.built.params) << "BatchNorm folding differs";
  p.input = random_values(uint64_t(kBatch) * p.built.layers[0].out.elements(), 99);
  graph::ForwardOptions f;
  f.batch = kBatch;
  p.expected = graph::reference_forward(p.built, p.input, f).back();
  return p;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class OnnxRoundTrip : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(OnnxRoundTrip, ReferenceBitExact) {
  const Pair p = make_pair(GetParam());
  graph::ForwardOptions f;
  f.batch = kBatch;
  const auto got = graph::reference_forward(p.imported, p.input, f).back();
  ASSERT_EQ(got.size(), kBatch * 10u);
  EXPECT_TRUE(same_bits(got, p.expected)) << "imported network's reference output differs from the built-in network's";
}

TEST_P(OnnxRoundTrip, DeviceFixedOrderBitExact) {
  const Pair p = make_pair(GetParam());
  graph::ExecuteOptions o;
  o.batch = kBatch;
  graph::CompiledNetwork fixed(device(), p.imported, o);
  EXPECT_TRUE(same_bits(fixed.run(p.input), p.expected)) << "device fixed order differs from the CPU reference";
  // Free order: any summation order, so only close (softmax outputs are in [0, 1]).
  o.mode.order = Order::Free;
  graph::CompiledNetwork free(device(), p.imported, o);
  const auto got = free.run(p.input);
  ASSERT_EQ(got.size(), p.expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], p.expected[i], 1e-4) << i;
  expect_no_validation_messages();
}

// What the exporter writes is a valid ONNX model for ONNX's own checker and strict shape
// inference, which derives the classifier's [N, classes] output from the graph alone.
TEST(OnnxExport, PassesOnnxCheckerAndShapeInference) {
  for (const char* arch : {"resnet18", "vgg11_bn"})
    for (int opset : {11, 13, 17}) {
      SCOPED_TRACE(std::string(arch) + " opset " + std::to_string(opset));
      models::ModelOptions o;
      o.arch = arch, o.layout = models::Layout::Torch, o.input_size = 32, o.classes = 10;
      graph::Network net = models::build(o);
      models::init_synthetic(net, 1);
      ::onnx::ModelProto m = export_onnx(net, opset);
      try {
        ::onnx::checker::check_model(m);
        ::onnx::shape_inference::InferShapes(m, ::onnx::OpSchemaRegistry::Instance(),
                                             ::onnx::ShapeInferenceOptions(true, 1, false));
      } catch (const std::exception& e) {
        FAIL() << e.what();
      }
      const auto& out = m.graph().output(0).type().tensor_type().shape();
      ASSERT_EQ(out.dim_size(), 2);
      EXPECT_EQ(out.dim(0).dim_param(), "N");
      EXPECT_EQ(out.dim(1).dim_value(), 10);
      // Shape inference filled in the intermediate values too.
      EXPECT_GT(m.graph().value_info_size(), 0);
    }
}

INSTANTIATE_TEST_SUITE_P(Models, OnnxRoundTrip,
                         ::testing::Values(RoundTrip{"resnet18", models::Layout::Torch, 32, 13},
                                           RoundTrip{"resnet50", models::Layout::Keras, 64, 13},
                                           RoundTrip{"vgg11", models::Layout::Torch, 32, 13},
                                           RoundTrip{"vgg11_bn", models::Layout::Torch, 32, 11},
                                           RoundTrip{"vgg19", models::Layout::Keras, 32, 17}),
                         [](const auto& info) { return case_name(info.param); });

}  // namespace
}  // namespace lockstep::onnx::test
