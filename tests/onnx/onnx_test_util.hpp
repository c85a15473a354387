// Helpers for the ONNX tests: building small models by hand, temporary files, running a
// network on the CPU reference, deterministic random data.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "graph/network.hpp"

namespace lockstep::onnx::test {

// A model under construction. Dims of -1 in input() are symbolic.
class ModelBuilder {
 public:
  explicit ModelBuilder(int opset = 13, const std::string& graph_name = "test");
  ModelBuilder& input(const std::string& name, const std::vector<int64_t>& dims,
                      int32_t elem_type = ::onnx::TensorProto::FLOAT);
  ModelBuilder& output(const std::string& name);
  // Float initializer, stored as raw_data or (raw = false) float_data.
  ModelBuilder& init(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& values,
                     bool raw = true);
  ModelBuilder& init_i64(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int64_t>& values);
  ::onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name = "");
  ::onnx::ModelProto& model() { return model_; }
  std::string bytes() const;
  // Writes the model to temp_path(file) and returns that path.
  std::string save(const std::string& file) const;

 private:
  ::onnx::ModelProto model_;
};

void attr(::onnx::NodeProto& n, const std::string& name, int64_t v);
void attr(::onnx::NodeProto& n, const std::string& name, float v);
void attr(::onnx::NodeProto& n, const std::string& name, const std::string& v);
void attr(::onnx::NodeProto& n, const std::string& name, std::vector<int64_t> v);

// A fresh per-process directory for test files, removed when the tests end (register
// temp_dir_cleanup() as a global test environment).
std::string temp_path(const std::string& file);
::testing::Environment* temp_dir_cleanup();
void write_file(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);

// Deterministic values uniform in [lo, hi) (splitmix64; the same on every platform).
std::vector<float> random_values(uint64_t count, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

// Prepares a copy of `net` and returns the last layer's canonical float32 reference output.
std::vector<float> reference_output(graph::Network net, const std::vector<float>& input, uint32_t batch = 1);

// Float64 helpers for checking semantics independently of the engine.
struct ConvSpec {
  uint32_t n = 1, c = 1, h = 1, w = 1, o = 1, kh = 1, kw = 1, sh = 1, sw = 1;
  uint32_t pt = 0, pl = 0, pb = 0, pr = 0;
};
std::vector<double> naive_conv(const ConvSpec& s, const std::vector<float>& x, const std::vector<float>& w,
                               const std::vector<float>& b);
// Largest |a - b| / max(1, |b|).
double max_rel_error(const std::vector<float>& a, const std::vector<double>& b);

}  // namespace lockstep::onnx::test
