// The ONNX project's own operator tests (libonnx-testdata, data/node/test_<op>*; another copy
// with LOCKSTEP_ONNX_TESTDATA=dir) run through the importer, the CPU reference and the device
// in fixed and free order.
//
// A case is SUPPORTED when its model imports into a Network after a small adapter that only
// reshapes what the node tests feed, never their arithmetic:
//   - graph inputs after the first that have data (weights, biases, BatchNorm statistics, a
//     Dropout ratio, a second Add operand) become initializers holding that data;
//   - the first input, when not [N, C, H, W]: [N, K] is fed as [N, K, 1, 1] followed by a
//     Flatten (so the model still sees [N, K]); [K] as [1, K, 1, 1] + Flatten, with axis
//     attributes shifted by one; [N, A, B] as [N, A, 1, B], with 1-D kernel_shape / strides /
//     dilations / pads widened to 2-D and axis attributes renumbered.
// Everything else is the importer's decision: an unsupported case is listed by name with the
// importer's error, and counted.
//
// Tolerance: |got - expected| <= 1e-5 * max(1, |expected|), for the CPU reference, device
// fixed order and device free order alike. The cases hold O(1) values (a few up to ~10^4
// before a softmax) and reduce over at most a few hundred terms, so float32 summation-order
// differences stay below ~1e-6 of the larger of 1 and the result; a wrong index, pad, axis or
// transpose gives errors of order 1. Fixed order must also equal the CPU reference bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "device_env.hpp"
#include "graph/executor.hpp"
#include "graph/reference_forward.hpp"
#include "onnx/onnx_import.hpp"
#include "onnx/onnx_tensor.hpp"

namespace lockstep::onnx::test {
namespace {

namespace fs = std::filesystem;
constexpr double kTolerance = 1e-5;
const char* const kOps[] = {"conv",    "maxpool", "averagepool", "globalaveragepool", "gemm",   "batchnorm",
                            "relu",    "softmax", "dropout",     "add",               "flatten"};

std::string data_dir() {
  const char* env = std::getenv("LOCKSTEP_ONNX_TESTDATA");
  return env ? env : "/usr/share/libonnx-testdata/data/node";
}

// The op a case belongs to: the longest listed op its name starts with (test_conv* holds
// test_convtranspose* and test_convinteger* too, as the brief's glob does).
std::string op_of(const std::string& name) {
  std::string best;
  for (const char* op : kOps)
    if (name.rfind(std::string("test_") + op, 0) == 0 && std::strlen(op) > best.size()) best = op;
  return best;
}

template <class Proto>
Proto load(const fs::path& p) {
  Proto m;
  std::ifstream f(p, std::ios::binary);
  if (!f || !m.ParseFromIstream(&f)) throw std::runtime_error("cannot parse " + p.string());
  return m;
}

std::vector<::onnx::TensorProto> load_tensors(const fs::path& dir, const std::string& prefix) {
  std::vector<::onnx::TensorProto> out;
  for (int k = 0; fs::exists(dir / (prefix + std::to_string(k) + ".pb")); ++k)
    out.push_back(load<::onnx::TensorProto>(dir / (prefix + std::to_string(k) + ".pb")));
  return out;
}

// Adapts the model in place (see the file comment); returns a note of what was done.
std::string adapt(::onnx::ModelProto& m, const std::vector<::onnx::TensorProto>& inputs) {
  std::string note;
  auto* g = m.mutable_graph();
  for (int k = 1; k < g->input_size() && k < int(inputs.size()); ++k) {
    auto* t = g->add_initializer();
    *t = inputs[k];
    t->set_name(g->input(k).name());
    note += " input '" + g->input(k).name() + "' as an initializer;";
  }
  while (g->input_size() > 1 && g->input_size() <= int(inputs.size())) g->mutable_input()->RemoveLast();
  if (g->input_size() == 0 || inputs.empty()) return note;
  const auto& dims = inputs[0].dims();
  const int64_t rank = dims.size();
  int64_t opset = 0;
  for (const auto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  const int64_t softmax_default = opset < 13 ? 1 : -1;
  auto* in0 = g->mutable_input(0);
  auto set_dims = [&](std::vector<int64_t> d) {
    auto* shape = in0->mutable_type()->mutable_tensor_type()->mutable_shape();
    shape->clear_dim();
    for (int64_t v : d) shape->add_dim()->set_dim_value(v);
  };
  // A Flatten in front, so the model sees its original 2-D input.
  auto flatten_in_front = [&] {
    const std::string name = in0->name();
    in0->set_name(name + "__nchw");
    std::vector<::onnx::NodeProto> nodes(g->node().begin(), g->node().end());
    g->clear_node();
    auto* f = g->add_node();
    f->set_op_type("Flatten"), f->set_name("adapter_flatten"), f->add_input(name + "__nchw"), f->add_output(name);
    for (auto& n : nodes) *g->add_node() = n;
  };
  auto normalize = [](int64_t a, int64_t r) { return a < 0 ? a + r : a; };
  if (rank == 2) {
    set_dims({dims[0], dims[1], 1, 1});
    flatten_in_front();
    note += " [N, K] fed as [N, K, 1, 1] + Flatten;";
  } else if (rank == 1) {
    set_dims({1, dims[0], 1, 1});
    for (auto& n : *g->mutable_node()) {
      if (n.op_type() != "Softmax" && n.op_type() != "Flatten") continue;
      ::onnx::AttributeProto* axis = nullptr;
      for (auto& a : *n.mutable_attribute())
        if (a.name() == "axis") axis = &a;
      if (!axis) {
        axis = n.add_attribute();
        axis->set_name("axis"), axis->set_type(::onnx::AttributeProto::INT);
        axis->set_i(n.op_type() == "Softmax" ? softmax_default : 1);
      }
      axis->set_i(normalize(axis->i(), 1) + 1);
    }
    flatten_in_front();
    note += " [K] fed as [1, K, 1, 1] + Flatten, axes shifted;";
  } else if (rank == 3) {
    set_dims({dims[0], dims[1], 1, dims[2]});
    for (auto& n : *g->mutable_node()) {
      for (auto& a : *n.mutable_attribute()) {
        const std::string& an = a.name();
        if ((an == "kernel_shape" || an == "strides" || an == "dilations") && a.ints_size() == 1) {
          const int64_t v = a.ints(0);
          a.clear_ints(), a.add_ints(1), a.add_ints(v);
        } else if (an == "pads" && a.ints_size() == 2) {
          const int64_t b = a.ints(0), e = a.ints(1);
          a.clear_ints(), a.add_ints(0), a.add_ints(b), a.add_ints(0), a.add_ints(e);
        }
      }
      if (n.op_type() == "Softmax" || n.op_type() == "Flatten") {
        ::onnx::AttributeProto* axis = nullptr;
        for (auto& a : *n.mutable_attribute())
          if (a.name() == "axis") axis = &a;
        if (!axis) {
          axis = n.add_attribute();
          axis->set_name("axis"), axis->set_type(::onnx::AttributeProto::INT);
          axis->set_i(n.op_type() == "Softmax" ? softmax_default : 1);
        }
        const int64_t a = normalize(axis->i(), 3);  // Flatten's axis may equal the rank
        axis->set_i(a < 2 ? a : a + 1);
      }
    }
    note += " [N, A, B] fed as [N, A, 1, B], 1-D attributes widened;";
  }
  return note;
}

struct Compared {
  bool ok = true;
  double max_err = 0.0;
  std::string why;
};

Compared compare(const std::vector<float>& got, const std::vector<float>& want) {
  Compared c;
  if (got.size() != want.size()) {
    c.ok = false;
    c.why = std::to_string(got.size()) + " values, expected " + std::to_string(want.size());
    return c;
  }
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i]) && std::isnan(want[i])) continue;
    const double e = std::fabs(double(got[i]) - want[i]) / std::max(1.0, std::fabs(double(want[i])));
    if (!(e <= c.max_err)) c.max_err = std::isnan(e) ? INFINITY : e;
    if (!(e <= kTolerance) && c.ok) {
      c.ok = false;
      c.why = "element " + std::to_string(i) + ": " + std::to_string(got[i]) + ", expected " + std::to_string(want[i]);
    }
  }
  return c;
}

struct Result {
  std::string name, op, status, detail;  // status: pass, FAIL, unsupported
};

Result run_case(const fs::path& dir) {
  Result r;
  r.name = dir.filename().string();
  r.op = op_of(r.name);
  const fs::path data = dir / "test_data_set_0";
  ::onnx::ModelProto model = load<::onnx::ModelProto>(dir / "model.onnx");
  const auto inputs = load_tensors(data, "input_");
  const auto outputs = load_tensors(data, "output_");
  const std::string note = adapt(model, inputs);
  graph::Network net;
  try {
    net = import_onnx_bytes(model.SerializeAsString(), r.name);
  } catch (const std::runtime_error& e) {
    r.status = "unsupported";
    r.detail = e.what();
    return r;
  }
  r.status = "FAIL";
  try {
    if (outputs.size() != 1) throw std::runtime_error(std::to_string(outputs.size()) + " expected outputs");
    const TensorData x = read_tensor(inputs.at(0)), y = read_tensor(outputs[0]);
    if (!x.is_float() || !y.is_float()) throw std::runtime_error("non-float data imported");
    graph::prepare(net);
    const uint32_t batch = inputs[0].dims_size() == 1 ? 1 : uint32_t(inputs[0].dims(0));
    graph::ForwardOptions fo;
    fo.batch = batch;
    const auto ref = graph::reference_forward(net, x.f, fo).back();
    Compared c = compare(ref, y.f);
    if (!c.ok) r.detail += " cpu reference: " + c.why + ";";
    char buf[160];
    std::snprintf(buf, sizeof buf, "max err: reference %.2g", c.max_err);
    std::string summary = buf;
    bool ok = c.ok;
    for (Order order : {Order::Fixed, Order::Free}) {
      graph::ExecuteOptions o;
      o.batch = batch;
      o.mode.order = order;
      graph::CompiledNetwork compiled(device(), net, o);
      const auto got = compiled.run(x.f);
      c = compare(got, y.f);
      const char* name = order == Order::Fixed ? "fixed" : "free";
      if (!c.ok) r.detail += std::string(" device ") + name + ": " + c.why + ";";
      if (order == Order::Fixed && (got.size() != ref.size() || std::memcmp(got.data(), ref.data(), got.size() * 4) != 0)) {
        r.detail += " device fixed order differs from the CPU reference bit for bit;";
        ok = false;
      }
      std::snprintf(buf, sizeof buf, ", %s %.2g", name, c.max_err);
      summary += buf;
      ok = ok && c.ok;
    }
    if (ok) r.status = "pass";
    r.detail = summary + (ok ? "" : " —" + r.detail) + (note.empty() ? "" : " (adapter:" + note + ")");
  } catch (const std::exception& e) {
    r.detail += std::string(" error: ") + e.what();
  }
  return r;
}

TEST(OnnxConformance, NodeTestsOnReferenceAndDeviceBothOrders) {
  if (!fs::is_directory(data_dir())) GTEST_SKIP() << data_dir() << " is missing (Debian package libonnx-testdata)";
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(data_dir()))
    if (e.is_directory() && !op_of(e.path().filename().string()).empty()) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  ASSERT_FALSE(dirs.empty());

  std::map<std::string, std::array<int, 3>> table;  // op -> passed, failed, unsupported
  std::vector<Result> unsupported, failed;
  for (const auto& d : dirs) {
    const Result r = run_case(d);
    auto& row = table[r.op];
    if (r.status == "pass") row[0]++;
    else if (r.status == "FAIL") row[1]++, failed.push_back(r);
    else row[2]++, unsupported.push_back(r);
    if (r.status != "unsupported") std::printf("[conformance] %-52s %-4s %s\n", r.name.c_str(), r.status.c_str(), r.detail.c_str());
  }
  std::printf("\nUnsupported cases (%zu), with the importer's reason:\n", unsupported.size());
  for (const auto& r : unsupported) std::printf("  %-52s %s\n", r.name.c_str(), r.detail.c_str());
  std::printf("\n%-20s %7s %7s %12s\n", "op", "passed", "failed", "unsupported");
  std::array<int, 3> total{};
  for (const char* op : kOps) {
    const auto& row = table[op];
    std::printf("%-20s %7d %7d %12d\n", op, row[0], row[1], row[2]);
    for (int k = 0; k < 3; ++k) total[k] += row[k];
  }
  std::printf("%-20s %7d %7d %12d\n", "total", total[0], total[1], total[2]);
  std::printf("tolerance |got - expected| <= %g * max(1, |expected|); fixed order also bit-exact with the CPU reference\n",
              kTolerance);
  for (const auto& r : failed) ADD_FAILURE() << r.name << ": " << r.detail;
  // A broken adapter or importer would make everything unsupported: every op has passing
  // cases, except Add, whose node tests all add two independent batch-shaped tensors (or uint8)
  // where the engine's network has one input.
  for (const char* op : kOps)
    if (std::string(op) != "add") {
      EXPECT_GT(table[op][0], 0) << "no supported " << op << " case passed";
    }
  expect_no_validation_messages();
}

}  // namespace
}  // namespace lockstep::onnx::test
