#include "onnx_test_util.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "graph/reference_forward.hpp"
#include "onnx/onnx_tensor.hpp"

namespace lockstep::onnx::test {

ModelBuilder::ModelBuilder(int opset, const std::string& graph_name) {
  model_.set_ir_version(opset >= 15 ? 8 : 7);
  model_.set_producer_name("lockstep-tests");
  auto& o = *model_.add_opset_import();
  o.set_domain("");
  o.set_version(opset);
  model_.mutable_graph()->set_name(graph_name);
}

ModelBuilder& ModelBuilder::input(const std::string& name, const std::vector<int64_t>& dims, int32_t elem_type) {
  auto& vi = *model_.mutable_graph()->add_input();
  vi.set_name(name);
  auto& tt = *vi.mutable_type()->mutable_tensor_type();
  tt.set_elem_type(elem_type);
  auto& shape = *tt.mutable_shape();
  for (size_t k = 0; k < dims.size(); ++k) {
    auto& d = *shape.add_dim();
    if (dims[k] < 0) d.set_dim_param(k == 0 ? "N" : "d" + std::to_string(k));
    else d.set_dim_value(dims[k]);
  }
  return *this;
}

ModelBuilder& ModelBuilder::output(const std::string& name) {
  auto& vi = *model_.mutable_graph()->add_output();
  vi.set_name(name);
  vi.mutable_type()->mutable_tensor_type()->set_elem_type(::onnx::TensorProto::FLOAT);
  return *this;
}

ModelBuilder& ModelBuilder::init(const std::string& name, const std::vector<int64_t>& dims,
                                 const std::vector<float>& values, bool raw) {
  auto& t = *model_.mutable_graph()->add_initializer();
  if (raw) {
    set_float_tensor(t, name, dims, values);
  } else {
    t.set_name(name);
    t.set_data_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t.add_dims(d);
    for (float v : values) t.add_float_data(v);
  }
  return *this;
}

ModelBuilder& ModelBuilder::init_i64(const std::string& name, const std::vector<int64_t>& dims,
                                     const std::vector<int64_t>& values) {
  auto& t = *model_.mutable_graph()->add_initializer();
  t.set_name(name);
  t.set_data_type(::onnx::TensorProto::INT64);
  for (int64_t d : dims) t.add_dims(d);
  for (int64_t v : values) t.add_int64_data(v);
  return *this;
}

::onnx::NodeProto& ModelBuilder::node(const std::string& op, const std::vector<std::string>& inputs,
                                      const std::vector<std::string>& outputs, const std::string& name) {
  auto& n = *model_.mutable_graph()->add_node();
  n.set_op_type(op);
  n.set_name(name);
  for (const auto& i : inputs) n.add_input(i);
  for (const auto& o : outputs) n.add_output(o);
  return n;
}

std::string ModelBuilder::bytes() const { return model_.SerializeAsString(); }

std::string ModelBuilder::save(const std::string& file) const {
  const std::string path = temp_path(file);
  write_file(path, bytes());
  return path;
}

void attr(::onnx::NodeProto& n, const std::string& name, int64_t v) {
  auto& a = *n.add_attribute();
  a.set_name(name), a.set_type(::onnx::AttributeProto::INT), a.set_i(v);
}
void attr(::onnx::NodeProto& n, const std::string& name, float v) {
  auto& a = *n.add_attribute();
  a.set_name(name), a.set_type(::onnx::AttributeProto::FLOAT), a.set_f(v);
}
void attr(::onnx::NodeProto& n, const std::string& name, const std::string& v) {
  auto& a = *n.add_attribute();
  a.set_name(name), a.set_type(::onnx::AttributeProto::STRING), a.set_s(v);
}
void attr(::onnx::NodeProto& n, const std::string& name, std::vector<int64_t> v) {
  auto& a = *n.add_attribute();
  a.set_name(name), a.set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a.add_ints(x);
}

namespace {
const std::string& temp_dir() {
  static const std::string dir = ::testing::TempDir() + "lockstep_onnx_" + std::to_string(::getpid());
  return dir;
}
class TempDirCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir(), ec);
  }
};
}  // namespace

std::string temp_path(const std::string& file) {
  std::filesystem::create_directories(temp_dir());
  return temp_dir() + "/" + file;
}

::testing::Environment* temp_dir_cleanup() { return new TempDirCleanup; }

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<float> random_values(uint64_t count, uint64_t seed, float lo, float hi) {
  std::vector<float> v(count);
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& x : v) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    x = lo + (hi - lo) * static_cast<float>(double(z >> 40) / double(1ull << 24));
  }
  return v;
}

std::vector<float> reference_output(graph::Network net, const std::vector<float>& input, uint32_t batch) {
  graph::prepare(net);
  graph::ForwardOptions o;
  o.batch = batch;
  return graph::reference_forward(net, input, o).back();
}

std::vector<double> naive_conv(const ConvSpec& s, const std::vector<float>& x, const std::vector<float>& w,
                               const std::vector<float>& b) {
  const uint32_t oh = (s.h + s.pt + s.pb - s.kh) / s.sh + 1, ow = (s.w + s.pl + s.pr - s.kw) / s.sw + 1;
  std::vector<double> y(uint64_t(s.n) * s.o * oh * ow);
  for (uint32_t n = 0; n < s.n; ++n)
    for (uint32_t o = 0; o < s.o; ++o)
      for (uint32_t i = 0; i < oh; ++i)
        for (uint32_t j = 0; j < ow; ++j) {
          double acc = b.empty() ? 0.0 : b[o];
          for (uint32_t c = 0; c < s.c; ++c)
            for (uint32_t ky = 0; ky < s.kh; ++ky)
              for (uint32_t kx = 0; kx < s.kw; ++kx) {
                const int64_t yy = int64_t(i) * s.sh + ky - s.pt, xx = int64_t(j) * s.sw + kx - s.pl;
                if (yy < 0 || xx < 0 || yy >= s.h || xx >= s.w) continue;
                acc += double(x[((uint64_t(n) * s.c + c) * s.h + yy) * s.w + xx]) *
                       w[((uint64_t(o) * s.c + c) * s.kh + ky) * s.kw + kx];
              }
          y[((uint64_t(n) * s.o + o) * oh + i) * ow + j] = acc;
        }
  return y;
}

double max_rel_error(const std::vector<float>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return INFINITY;
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]) / std::max(1.0, std::fabs(b[i])));
  return worst;
}

}  // namespace lockstep::onnx::test
