// Whole networks on the device: VGG19 and ResNet-50 (Keras and torchvision layouts) at a
// reduced input size with synthetic weights. Fixed order: every layer's output equals the CPU
// reference bit for bit. Free order: within tolerance of the float64 oracle, same top-1.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "device/harness.hpp"
#include "graph/executor.hpp"
#include "graph/reference_forward.hpp"
#include "models/models.hpp"
#include "numerics/philox.hpp"

namespace lockstep::test {

namespace {

std::vector<float> test_input(uint64_t count, uint64_t seed) {
  std::vector<float> x(count);
  for (uint64_t i = 0; i < count; ++i) {
    const auto r = philox4x32_10({uint32_t(i), 0, 0, 0}, {uint32_t(seed), 1});
    x[i] = float(r[0] >> 8) * 0x1p-24f * 2.0f - 1.0f;  // [-1, 1)
  }
  return x;
}

graph::Network prepared(const std::string& arch, models::Layout layout, uint32_t size) {
  auto net = models::build({arch, layout, size});
  models::init_synthetic(net, 42);
  graph::prepare(net);
  return net;
}

size_t argmax(const std::vector<float>& v, size_t begin, size_t n) {
  return std::max_element(v.begin() + begin, v.begin() + begin + n) - (v.begin() + begin);
}

void check_network(const std::string& arch, models::Layout layout, uint32_t size, uint32_t batch) {
  const graph::Network net = prepared(arch, layout, size);
  const auto x = test_input(uint64_t(batch) * net.layers[0].out.elements(), 9);

  // Fixed order, every layer.
  const NumericMode fixed{};
  graph::CompiledNetwork compiled(device(), net, {batch, fixed, /*keep_layer_outputs=*/true});
  compiled.run(x);
  const auto ref = graph::reference_forward(net, x, {batch, fixed});
  size_t layers_compared = 0;
  for (uint32_t i = 0; i < net.layers.size(); ++i) {
    const auto y = compiled.layer_output(i);
    ASSERT_EQ(y.size(), ref[i].size()) << net.layers[i].name;
    if (std::memcmp(y.data(), ref[i].data(), y.size() * 4) != 0) {
      size_t e = 0;
      while (std::memcmp(&y[e], &ref[i][e], 4) == 0) ++e;
      ADD_FAILURE() << arch << "/" << models::layout_name(layout) << " layer " << i << " '" << net.layers[i].name
                    << "' differs from the reference first at element " << e << ": " << y[e] << " vs " << ref[i][e];
      return;
    }
    layers_compared++;
  }
  EXPECT_EQ(layers_compared, net.layers.size());

  // Without kept layer outputs the executor fuses residual adds into the convolutions before
  // them (ResNet): the final output must keep the same bits, and the timings must show fused
  // dispatches.
  graph::ExecuteOptions lean{batch, fixed};
  lean.timestamps = true;
  graph::CompiledNetwork fused(device(), net, lean);
  const auto yf = fused.run(x);
  EXPECT_EQ(0, std::memcmp(yf.data(), ref.back().data(), yf.size() * 4)) << "fused network differs from the reference";
  size_t adds = 0, fused_adds = 0;
  for (const auto& l : net.layers) adds += l.kind == graph::LayerKind::Add;
  for (const auto& t : fused.timings()) fused_adds += t.label.find("_add (conv2d") != std::string::npos;
  if (device().traits().timestamps) {
    EXPECT_EQ(fused_adds, adds) << "every residual add fused";
  }

  // Free order: final probabilities against the float64 oracle.
  graph::CompiledNetwork free_net(device(), net, {batch, NumericMode{Order::Free}});
  const auto y = free_net.run(x);
  const auto oracle = graph::oracle_forward(net, x, {batch, fixed});
  const auto& o = oracle.back();
  double max_err = 0.0;
  for (size_t i = 0; i < y.size(); ++i) max_err = std::max(max_err, std::fabs(double(y[i]) - o[i]));
  double fixed_err = 0.0;
  for (size_t i = 0; i < y.size(); ++i) fixed_err = std::max(fixed_err, std::fabs(double(ref.back()[i]) - o[i]));
  std::printf("[network] %s/%s %ux%u batch %u: %zu layers bit-exact in fixed order; max |p - p64| fixed %.3g, free %.3g\n",
              arch.c_str(), models::layout_name(layout), size, size, batch, layers_compared, fixed_err, max_err);
  EXPECT_LT(max_err, 1e-4) << "free order too far from the float64 oracle";
  const size_t classes = net.layers.back().out.elements();
  for (uint32_t b = 0; b < batch; ++b) {
    std::vector<float> o32(o.begin() + b * classes, o.begin() + (b + 1) * classes);
    EXPECT_EQ(argmax(y, b * classes, classes), argmax(o32, 0, classes)) << "top-1 differs from the oracle";
  }
}

}  // namespace

TEST(Networks, Vgg19KerasAt64) { check_network("vgg19", models::Layout::Keras, 64, 1); }
TEST(Networks, ResNet50KerasAt64) { check_network("resnet50", models::Layout::Keras, 64, 1); }
TEST(Networks, ResNet50TorchAt64Batch2) { check_network("resnet50", models::Layout::Torch, 64, 2); }

TEST(Networks, McDropoutIsSeededAndReproducible) {
  const graph::Network net = prepared("vgg11", models::Layout::Torch, 32);
  const auto x = test_input(net.layers[0].out.elements(), 3);
  graph::ExecuteOptions o{1, NumericMode{}};
  o.mc_dropout = true;
  graph::CompiledNetwork compiled(device(), net, o);
  const auto a = compiled.run(x, 11);
  const auto b = compiled.run(x, 12);
  const auto a2 = compiled.run(x, 11);
  EXPECT_EQ(0, std::memcmp(a.data(), a2.data(), a.size() * 4)) << "same seed, different result";
  EXPECT_NE(0, std::memcmp(a.data(), b.data(), a.size() * 4)) << "different seeds, same result";
  const auto ref = graph::reference_forward(net, x, {1, NumericMode{}, true, 11});
  EXPECT_EQ(0, std::memcmp(a.data(), ref.back().data(), a.size() * 4)) << "device mask differs from the reference";
  graph::CompiledNetwork inference(device(), net, {1, NumericMode{}});
  const auto c = inference.run(x);
  EXPECT_NE(0, std::memcmp(a.data(), c.data(), a.size() * 4)) << "dropout had no effect";
}

TEST(Networks, BufferReuseKeepsPeakMemoryBelowTheSumOfLayers) {
  const graph::Network net = prepared("resnet50", models::Layout::Torch, 64);
  graph::CompiledNetwork planned(device(), net, {1, NumericMode{}});
  graph::CompiledNetwork kept(device(), net, {1, NumericMode{}, true});
  EXPECT_LT(planned.activation_bytes() * 4, kept.activation_bytes());
  const auto x = test_input(net.layers[0].out.elements(), 5);
  const auto a = planned.run(x), b = kept.run(x);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4)) << "buffer reuse changed the result";
}

TEST(Networks, WrongInputSizeIsAClearError) {
  const graph::Network net = prepared("resnet18", models::Layout::Torch, 32);
  graph::CompiledNetwork compiled(device(), net, {1, NumericMode{}});
  try {
    compiled.run(std::vector<float>(10, 0.0f));
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("input has 10 values, expected 3072"), std::string::npos) << e.what();
  }
}

}  // namespace lockstep::test
