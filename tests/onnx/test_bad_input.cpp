// Every way an ONNX file can be wrong or unsupported gives a std::runtime_error naming the
// file, and (where a node is at fault) the node's name and op type — never a crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "onnx/onnx_import.hpp"
#include "onnx_test_util.hpp"

namespace lockstep::onnx::test {
namespace {

// Imports `path` and returns the error message; fails the test when it imports.
std::string error_of(const std::string& path, const ImportOptions& o = {}) {
  try {
    import_onnx(path, o);
  } catch (const std::runtime_error& e) {
    std::printf("[error] %s\n", e.what());
    return e.what();
  }
  ADD_FAILURE() << path << " imported without an error";
  return "";
}

// A valid small model: x [N, 3, 8, 8] -> conv -> relu -> flatten -> gemm.
ModelBuilder small_model(int opset = 13) {
  ModelBuilder m(opset);
  m.input("x", {-1, 3, 8, 8}).output("y");
  m.init("W", {4, 3, 3, 3}, random_values(108, 1)).init("B", {4}, random_values(4, 2));
  m.init("fcW", {2, 4 * 6 * 6}, random_values(288, 3));
  m.node("Conv", {"x", "W", "B"}, {"c"}, "conv1");
  m.node("Relu", {"c"}, {"r"}, "relu1");
  m.node("Flatten", {"r"}, {"f"}, "flatten");
  attr(m.node("Gemm", {"f", "fcW"}, {"y"}, "fc"), "transB", int64_t(1));
  return m;
}

void expect_names(const std::string& msg, std::initializer_list<const char*> parts) {
  for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' missing from: " << msg;
}

TEST(OnnxBadInput, ValidBaseModelImports) { EXPECT_NO_THROW(import_onnx(small_model().save("base.onnx"))); }

TEST(OnnxBadInput, UnsupportedOps) {
  for (const char* op : {"LSTM", "Sigmoid"}) {
    ModelBuilder m;
    m.input("x", {-1, 3, 8, 8}).output("y");
    m.node("Relu", {"x"}, {"r"}, "relu0");
    m.node(op, {"r"}, {"y"}, std::string("my_") + op);
    const std::string file = std::string("unsupported_") + op + ".onnx";
    expect_names(error_of(m.save(file)), {file.c_str(), ("my_" + std::string(op)).c_str(), op, "#1", "supported operators", "Conv"});
  }
}

TEST(OnnxBadInput, GroupedConv) {
  ModelBuilder m = small_model();
  attr(*m.model().mutable_graph()->mutable_node(0), "group", int64_t(2));
  expect_names(error_of(m.save("group2.onnx")), {"group2.onnx", "conv1", "Conv", "group 2", "only group 1"});
}

TEST(OnnxBadInput, DilatedConv) {
  ModelBuilder m = small_model();
  attr(*m.model().mutable_graph()->mutable_node(0), "dilations", std::vector<int64_t>{2, 2});
  expect_names(error_of(m.save("dilations2.onnx")), {"dilations2.onnx", "conv1", "Conv", "dilations [2, 2]"});
}

TEST(OnnxBadInput, Int64Input) {
  ModelBuilder m;
  m.input("x", {-1, 3, 8, 8}, ::onnx::TensorProto::INT64).output("y");
  m.node("Relu", {"x"}, {"y"}, "relu");
  expect_names(error_of(m.save("int64_input.onnx")), {"int64_input.onnx", "'x'", "INT64", "float32"});
}

TEST(OnnxBadInput, DynamicSizeWithFlatten) {
  ModelBuilder m = small_model();
  auto* shape = m.model().mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  shape->mutable_dim(2)->set_dim_param("height");
  shape->mutable_dim(3)->set_dim_param("width");
  const std::string msg = error_of(m.save("dynamic_hw.onnx"));
  expect_names(msg, {"dynamic_hw.onnx", "symbolic height", "flatten", "Flatten", "input_height"});
  // With a size given, a wrong one is caught at the classifier.
  ImportOptions o;
  o.input_height = o.input_width = 10;
  expect_names(error_of(m.save("dynamic_hw.onnx"), o), {"dynamic_hw.onnx", "fc", "Gemm", "input features"});
  o.input_height = o.input_width = 8;
  EXPECT_NO_THROW(import_onnx(m.save("dynamic_hw.onnx"), o));
}

TEST(OnnxBadInput, TruncatedFile) {
  const std::string bytes = small_model().bytes();
  // Every cut must fail cleanly; check many of them, including a few bytes from either end.
  std::vector<size_t> cuts = {1, 2, 5, 10, bytes.size() - 1, bytes.size() - 2, bytes.size() - 10};
  for (size_t c = 17; c < bytes.size(); c += std::max<size_t>(1, bytes.size() / 61)) cuts.push_back(c);
  for (size_t cut : cuts) {
    SCOPED_TRACE(cut);
    const std::string path = temp_path("truncated.onnx");
    write_file(path, bytes.substr(0, cut));
    expect_names(error_of(path), {"truncated.onnx"});
  }
}

// Every byte of a model flipped three ways: the result imports (a weight changed) or fails with
// a std::runtime_error naming the file; any other exception or a crash fails the test.
TEST(OnnxBadInput, CorruptBytes) {
  const std::string bytes = small_model().bytes();
  size_t failures = 0;
  for (size_t i = 0; i < bytes.size(); ++i)
    for (unsigned char mask : {0x01, 0x80, 0xFF}) {
      std::string b = bytes;
      b[i] = static_cast<char>(b[i] ^ mask);
      try {
        import_onnx_bytes(b, "corrupt.onnx");
      } catch (const std::runtime_error& e) {
        ++failures;
        ASSERT_NE(std::string(e.what()).find("corrupt.onnx"), std::string::npos) << e.what();
      }
    }
  std::printf("[corrupt] %zu of %zu single-byte corruptions rejected, the rest still valid models\n", failures,
              bytes.size() * 3);
  EXPECT_GT(failures, 0u);
}

TEST(OnnxBadInput, PngRenamed) {
  const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde", 33);
  const std::string path = temp_path("image.onnx");
  write_file(path, png);
  expect_names(error_of(path), {"image.onnx", "PNG", "not an ONNX model"});
}

TEST(OnnxBadInput, TextFile) {
  const std::string path = temp_path("notes.onnx");
  write_file(path, "This is a README, not a model.\nIt has several lines of text.\n");
  expect_names(error_of(path), {"notes.onnx", "not"});
}

TEST(OnnxBadInput, EmptyFile) {
  const std::string path = temp_path("empty.onnx");
  write_file(path, "");
  expect_names(error_of(path), {"empty.onnx", "empty"});
}

TEST(OnnxBadInput, MissingFileAndDirectory) {
  expect_names(error_of(temp_path("does_not_exist.onnx")), {"does_not_exist.onnx", "no such file"});
  std::filesystem::create_directories(temp_path("a_directory.onnx"));
  expect_names(error_of(temp_path("a_directory.onnx")), {"a_directory.onnx", "directory"});
}

TEST(OnnxBadInput, InitializerSizeMismatch) {
  ModelBuilder m = small_model();
  auto* w = m.model().mutable_graph()->mutable_initializer(0);
  w->set_raw_data(w->raw_data().substr(0, w->raw_data().size() - 4));
  expect_names(error_of(m.save("init_mismatch.onnx")), {"init_mismatch.onnx", "initializer 'W'", "428 bytes", "108 elements"});
  ModelBuilder f = small_model();
  f.init("extra", {3, 3}, {1, 2, 3}, /*raw=*/false);
  expect_names(error_of(f.save("float_data_mismatch.onnx")), {"float_data_mismatch.onnx", "'extra'", "3 values", "9 elements"});
}

TEST(OnnxBadInput, AbsurdDims) {
  // dims whose product overflows, and dims that claim more data than the file holds: both are
  // rejected before anything is allocated.
  ModelBuilder m = small_model();
  auto* t = m.model().mutable_graph()->add_initializer();
  t->set_name("huge"), t->set_data_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : {int64_t(1) << 40, int64_t(1) << 40}) t->add_dims(d);
  expect_names(error_of(m.save("overflow.onnx")), {"overflow.onnx", "'huge'", "overflow"});
  t->clear_dims();
  for (int64_t d : {int64_t(1) << 20, int64_t(1) << 20}) t->add_dims(d);
  expect_names(error_of(m.save("too_big.onnx")), {"too_big.onnx", "'huge'", "but the file has only"});
  t->clear_dims();
  t->add_dims(-4);
  expect_names(error_of(m.save("negative.onnx")), {"negative.onnx", "'huge'", "negative"});
  // An input dimension beyond 32 bits.
  ModelBuilder big;
  big.input("x", {1, 3, int64_t(1) << 33, 8}).output("y");
  big.node("Relu", {"x"}, {"y"}, "relu");
  expect_names(error_of(big.save("big_input.onnx")), {"big_input.onnx", "height"});
}

TEST(OnnxBadInput, GraphStructure) {
  {
    ModelBuilder m = small_model();
    m.output("r");
    expect_names(error_of(m.save("two_outputs.onnx")), {"two_outputs.onnx", "2 outputs", "'y', 'r'"});
  }
  {
    ModelBuilder m = small_model();
    m.input("z", {-1, 3, 8, 8});
    expect_names(error_of(m.save("two_inputs.onnx")), {"two_inputs.onnx", "2 inputs", "'x', 'z'"});
  }
  {
    ModelBuilder m;  // a weight fed as a graph input (the conformance models do this)
    m.input("x", {-1, 3, 8, 8}).input("W", {4, 3, 3, 3}).output("y");
    m.node("Conv", {"x", "W"}, {"y"}, "conv");
    expect_names(error_of(m.save("weight_input.onnx")), {"weight_input.onnx", "2 inputs"});
  }
  {
    ModelBuilder m = small_model();
    m.model().clear_opset_import();
    expect_names(error_of(m.save("no_opset.onnx")), {"no_opset.onnx", "opset"});
  }
  {
    ModelBuilder m = small_model(25);
    expect_names(error_of(m.save("opset25.onnx")), {"opset25.onnx", "25", "1 to 21"});
  }
  {
    ModelBuilder m = small_model();
    m.model().mutable_graph()->mutable_node(1)->set_domain("com.microsoft");
    expect_names(error_of(m.save("domain.onnx")), {"domain.onnx", "relu1", "com.microsoft"});
  }
  {
    ModelBuilder m = small_model();
    m.model().mutable_graph()->mutable_node(1)->set_input(0, "nowhere");
    expect_names(error_of(m.save("undefined.onnx")), {"undefined.onnx", "relu1", "Relu", "'nowhere'"});
  }
}

// Unsupported attribute values and forms, each naming the node and op.
TEST(OnnxBadInput, UnsupportedAttributes) {
  struct Case {
    const char* file;
    int node;
    std::function<void(::onnx::NodeProto&)> edit;
    const char* node_name;
    const char* op;
    const char* says;
  };
  const Case cases[] = {
      {"gemm_alpha.onnx", 3, [](auto& n) { attr(n, "alpha", 2.0f); }, "fc", "Gemm", "alpha"},
      {"gemm_transa.onnx", 3, [](auto& n) { attr(n, "transA", int64_t(1)); }, "fc", "Gemm", "transA"},
      {"conv_autopad.onnx", 0, [](auto& n) { attr(n, "auto_pad", std::string("SAME")); }, "conv1", "Conv", "auto_pad 'SAME'"},
      {"conv_unknown_attr.onnx", 0, [](auto& n) { attr(n, "frobnicate", int64_t(1)); }, "conv1", "Conv", "frobnicate"},
      {"conv_attr_type.onnx", 0, [](auto& n) { attr(n, "group", 1.0f); }, "conv1", "Conv", "type FLOAT"},
      {"flatten_axis2.onnx", 2, [](auto& n) { attr(n, "axis", int64_t(2)); }, "flatten", "Flatten", "axis 2"},
      {"flatten_axis0.onnx", 2, [](auto& n) { attr(n, "axis", int64_t(0)); }, "flatten", "Flatten", "axis 0"},
  };
  for (const Case& c : cases) {
    ModelBuilder m = small_model();
    c.edit(*m.model().mutable_graph()->mutable_node(c.node));
    expect_names(error_of(m.save(c.file)), {c.file, c.node_name, c.op, c.says});
  }
}

TEST(OnnxBadInput, UnsupportedForms) {
  {
    ModelBuilder m;  // the Indices output used
    m.input("x", {-1, 3, 4, 4}).output("y");
    auto& p = m.node("MaxPool", {"x"}, {"p", "idx"}, "pool");
    attr(p, "kernel_shape", std::vector<int64_t>{2, 2});
    m.node("Add", {"p", "idx"}, {"y"}, "use_idx");
    expect_names(error_of(m.save("pool_indices.onnx")), {"pool_indices.onnx", "\"pool\"", "MaxPool", "only the first output"});
  }
  {
    ModelBuilder m;
    m.input("x", {-1, 3, 5, 5}).output("y");
    auto& p = m.node("MaxPool", {"x"}, {"y"}, "pool");
    attr(p, "kernel_shape", std::vector<int64_t>{2, 2}), attr(p, "strides", std::vector<int64_t>{2, 2});
    attr(p, "ceil_mode", int64_t(1));
    expect_names(error_of(m.save("ceil.onnx")), {"ceil.onnx", "pool", "MaxPool", "ceil_mode 1"});
  }
  {
    ModelBuilder m(13);
    m.input("x", {-1, 3, 5, 5}).output("y");
    m.node("Softmax", {"x"}, {"y"}, "sm");  // opset 13: over W alone
    expect_names(error_of(m.save("softmax_w.onnx")), {"softmax_w.onnx", "sm", "Softmax", "axis -1"});
    attr(*m.model().mutable_graph()->mutable_node(0), "axis", int64_t(0));
    expect_names(error_of(m.save("softmax_batch.onnx")), {"softmax_batch.onnx", "sm", "Softmax", "axis 0"});
  }
  {
    ModelBuilder m;
    m.input("x", {-1, 3, 4, 4}).output("y").init("b", {3, 1, 1}, {1, 2, 3});
    m.node("Add", {"x", "b"}, {"y"}, "add_const");
    expect_names(error_of(m.save("add_const.onnx")), {"add_const.onnx", "add_const", "Add", "bias"});
  }
  {
    ModelBuilder m;
    m.input("x", {-1, 3, 4, 4}).output("y");
    m.node("GlobalAveragePool", {"x"}, {"g"}, "gap");
    m.node("Add", {"x", "g"}, {"y"}, "add_bcast");
    expect_names(error_of(m.save("add_bcast.onnx")), {"add_bcast.onnx", "add_bcast", "Add", "broadcasting"});
  }
  {
    ModelBuilder m;
    m.input("x", {-1, 3, 4, 4}).output("y").init_i64("s", {4}, {0, 3, 16, 1});
    m.node("Reshape", {"x", "s"}, {"y"}, "reshape4d");
    expect_names(error_of(m.save("reshape4d.onnx")), {"reshape4d.onnx", "reshape4d", "Reshape", "[0, 3, 16, 1]"});
  }
  {
    ModelBuilder m;
    m.input("x", {-1, 4, 4, 4}).output("y").init("W", {4, 4, 1, 1}, random_values(16, 4));
    for (const char* p : {"s", "b", "m", "v"}) m.init(p, {4}, {1, 1, 1, 1});
    m.node("Conv", {"x", "W"}, {"c"}, "conv");
    attr(m.node("BatchNormalization", {"c", "s", "b", "m", "v"}, {"y"}, "bn"), "training_mode", int64_t(1));
    expect_names(error_of(m.save("bn_training.onnx")), {"bn_training.onnx", "\"bn\"", "BatchNormalization", "training_mode"});
  }
  {
    ModelBuilder m;  // a float64 weight
    m.input("x", {-1, 1, 4, 4}).output("y");
    auto* t = m.model().mutable_graph()->add_initializer();
    t->set_name("W"), t->set_data_type(::onnx::TensorProto::DOUBLE), t->add_dims(1), t->add_dims(1), t->add_dims(1),
        t->add_dims(1), t->add_double_data(1.0);
    m.node("Conv", {"x", "W"}, {"y"}, "conv64");
    expect_names(error_of(m.save("double_weight.onnx")), {"double_weight.onnx", "conv64", "Conv", "DOUBLE", "float32"});
  }
  {
    ModelBuilder m = small_model();  // external data
    auto* w = m.model().mutable_graph()->mutable_initializer(0);
    w->clear_raw_data();
    w->set_data_location(::onnx::TensorProto::EXTERNAL);
    auto* e = w->add_external_data();
    e->set_key("location"), e->set_value("weights.bin");
    expect_names(error_of(m.save("external.onnx")), {"external.onnx", "'W'", "external"});
  }
  {
    ModelBuilder m(6);  // before opset 7 Dropout and BatchNormalization default to training
    m.input("x", {-1, 1, 4, 4}).output("y");
    m.node("Dropout", {"x"}, {"y"}, "drop6");
    expect_names(error_of(m.save("dropout_opset6.onnx")), {"dropout_opset6.onnx", "drop6", "Dropout", "is_test 0"});
    attr(*m.model().mutable_graph()->mutable_node(0), "is_test", int64_t(1));
    EXPECT_NO_THROW(import_onnx(m.save("dropout_opset6.onnx")));
  }
  {
    ModelBuilder m;  // the output is the input
    m.input("x", {-1, 1, 4, 4}).output("x");
    m.node("Relu", {"x"}, {"unused"}, "relu");
    expect_names(error_of(m.save("passthrough.onnx")), {"passthrough.onnx", "the input itself"});
  }
}

}  // namespace
}  // namespace lockstep::onnx::test
