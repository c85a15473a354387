// Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/), with the project's own
// writers where it has them (io::write_npy, io::write_png, io::write_bmp, onnx::save_onnx,
// keras::save_keras_weights) and by hand (HDF5 C API, protobuf, bytes) for the valid variants
// those writers never produce and for edge cases. Deterministic, except that HDF5 stores the
// datasets' creation times in the .h5 files (as Keras and h5py files have them too).
//   lockstep_fuzz_seeds fuzz/corpus [fuzz/regressions]
// The second argument also writes the crafted regression inputs (see fuzz/README.md).
#include <hdf5.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>

#include "fuzz_networks.hpp"
#include "graph/reference_forward.hpp"
#include "io/image.hpp"
#include "io/npy.hpp"
#include "keras/keras_h5.hpp"
#include "models/models.hpp"
#include "onnx/onnx_export.hpp"
#ifdef LOCKSTEP_FUZZ_HAVE_REPORT
#include "io/result_file.hpp"
#include "report/result_reader.hpp"
#endif

namespace fs = std::filesystem;
using namespace lockstep;

namespace {

fs::path root;

std::string path(const std::string& target, const std::string& name) {
  fs::create_directories(root / target);
  return (root / target / name).string();
}

void bytes(const std::string& p, const std::string& b) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(b.data(), std::streamsize(b.size()));
  if (!f) throw std::runtime_error("cannot write " + p);
}

std::string read(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// ---- .npy -----------------------------------------------------------------------------------

// A .npy with the given version and header text (padded with spaces and '\n' to 64 bytes, as
// NumPy does) and raw data bytes.
std::string npy(int major, std::string header, const std::string& data) {
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t pre = 8 + len_bytes;
  while ((pre + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += char(major);
  out += char(0);
  for (size_t i = 0; i < len_bytes; ++i) out += char((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string f64_bytes(std::initializer_list<double> v) {
  std::string s;
  for (double d : v) s.append(reinterpret_cast<const char*>(&d), 8);
  return s;
}

void npy_seeds() {
  const auto w = [](const std::string& name, std::vector<uint64_t> shape, std::vector<float> data) {
    io::NpyArray a;
    a.shape = std::move(shape);
    a.data = std::move(data);
    io::write_npy(path("npy", name), a);
  };
  w("f4_scalar.npy", {}, {3.5f});
  w("f4_vector.npy", {3}, {1.0f, -0.0f, 1e-40f});
  std::vector<float> img(3 * 4 * 4);
  for (size_t i = 0; i < img.size(); ++i) img[i] = float(i) * 0.25f - 5.0f;
  w("f4_nchw.npy", {1, 3, 4, 4}, img);
  w("f4_chw.npy", {3, 4, 4}, img);
  w("f4_empty.npy", {0}, {});
  w("f4_zero_dim.npy", {2, 0, 3}, {});
  bytes(path("npy", "f8_v1.npy"), npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                                      f64_bytes({1.0 / 3.0, -1e300})));
  bytes(path("npy", "f4_v2.npy"), npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }",
                                      std::string("\0\0\x80\x3f", 4)));
  bytes(path("npy", "f4_v3_dquote_long.npy"),
        npy(3, "{\"descr\": \"<f4\", \"shape\": (1L,), \"fortran_order\": False}", std::string("\0\0\0\0", 4)));
  // Edge cases: each must be refused with a message.
  bytes(path("npy", "bad_fortran.npy"), npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
                                            std::string(4, '\0')));
  bytes(path("npy", "bad_big_endian.npy"), npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                                               std::string(4, '\0')));
  bytes(path("npy", "bad_overflow.npy"),
        npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }", ""));
  bytes(path("npy", "bad_truncated.npy"), npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                                              std::string(5, '\0')));
  bytes(path("npy", "bad_header_length.npy"), std::string("\x93NUMPY\x01\x00\xff\xff{'descr'", 18));
}

// ---- images ---------------------------------------------------------------------------------

void stb_collect(void* ctx, void* data, int size) {
  static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), size_t(size));
}

std::string stb(const std::function<int(std::string*)>& write) {
  std::string out;
  if (!write(&out)) throw std::runtime_error("stb write failed");
  return out;
}

void image_seeds() {
  const io::Image a = io::generate_test_image(7, 5, 1);
  io::write_png(path("image", "rgb_7x5.png"), a);
  io::write_bmp(path("image", "rgb_7x5.bmp"), a);
  io::write_png(path("image", "rgb_1x1.png"), io::generate_test_image(1, 1, 2));
  const io::Image b = io::generate_test_image(17, 3, 3);
  io::write_png(path("image", "rgb_17x3.png"), b);
  // Grey, grey+alpha and RGBA PNGs, 32-bit BMP, JPEG (baseline, two qualities) via stb.
  std::vector<uint8_t> grey(6 * 4), rgba(5 * 3 * 4), ga(3 * 2 * 2);
  for (size_t i = 0; i < grey.size(); ++i) grey[i] = uint8_t(i * 11);
  for (size_t i = 0; i < rgba.size(); ++i) rgba[i] = uint8_t(i * 37 + 5);
  for (size_t i = 0; i < ga.size(); ++i) ga[i] = uint8_t(255 - i * 19);
  bytes(path("image", "grey_6x4.png"),
        stb([&](std::string* s) { return stbi_write_png_to_func(stb_collect, s, 6, 4, 1, grey.data(), 6); }));
  bytes(path("image", "ga_3x2.png"),
        stb([&](std::string* s) { return stbi_write_png_to_func(stb_collect, s, 3, 2, 2, ga.data(), 6); }));
  bytes(path("image", "rgba_5x3.png"),
        stb([&](std::string* s) { return stbi_write_png_to_func(stb_collect, s, 5, 3, 4, rgba.data(), 20); }));
  bytes(path("image", "rgba_5x3.bmp"),
        stb([&](std::string* s) { return stbi_write_bmp_to_func(stb_collect, s, 5, 3, 4, rgba.data()); }));
  bytes(path("image", "rgb_17x3_q90.jpg"), stb([&](std::string* s) {
          return stbi_write_jpg_to_func(stb_collect, s, 17, 3, 3, b.rgb.data(), 90);
        }));
  bytes(path("image", "grey_6x4_q40.jpg"),
        stb([&](std::string* s) { return stbi_write_jpg_to_func(stb_collect, s, 6, 4, 1, grey.data(), 40); }));
  // Binary PNM: P6 8-bit with a comment, P6 16-bit, P5 8-bit. (A 16-bit P5 crashed stb_image:
  // see regressions() below.) The pil_* seeds next to these are Pillow's files (kinds our writers
  // do not make: progressive and optimised JPEG, palette/1-bit/LA/16-bit/interlaced PNG, palette
  // BMP, other PNM maxvals), made once with the script of PilParity.DecodedPixelsMatchPillow
  // (tests/io/pil_parity_test.cpp) and kept as they are.
  bytes(path("image", "rgb_2x2.ppm"), std::string("P6\n# c\n2 2\n255\n") + std::string("\x01\x02\x03\xff\x00\x80"
                                                                                       "\x10\x20\x30\x40\x50\x60", 12));
  bytes(path("image", "rgb16_2x1.ppm"), std::string("P6 2 1 65535\n\x12\x34\xab\xcd\x00\x01\xff\xff\x80\x00\x7f\xff", 25));
  bytes(path("image", "grey_3x2.pgm"), std::string("P5\n3 2\n200\n\x00\x10\x20\x30\x40\xc8", 17));
  // Edge cases: truncated PNG, a BMP that claims 16384x16384, PNM with a huge maxval.
  const std::string png = read(path("image", "rgb_7x5.png"));
  bytes(path("image", "bad_truncated.png"), png.substr(0, png.size() / 2));
  std::string bmp = read(path("image", "rgb_7x5.bmp"));
  const uint32_t big = 16384;
  std::memcpy(&bmp[18], &big, 4);
  std::memcpy(&bmp[22], &big, 4);
  bytes(path("image", "bad_huge.bmp"), bmp);
  bytes(path("image", "bad_maxval.pgm"), "P5 1 1 70000\n\x01\x02");
}

// ---- ONNX -----------------------------------------------------------------------------------

graph::Network with_weights(graph::Network net, uint64_t seed) {
  models::init_synthetic(net, seed);
  return net;
}

::onnx::TensorProto tensor(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v) {
  ::onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(::onnx::TensorProto::FLOAT);
  for (auto d : dims) t.add_dims(d);
  for (float f : v) t.add_float_data(f);
  return t;
}

::onnx::NodeProto* node(::onnx::GraphProto* g, const std::string& op, std::vector<std::string> in,
                        std::vector<std::string> out) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(op + "_" + out.at(0));
  for (auto& i : in) n->add_input(i);
  for (auto& o : out) n->add_output(o);
  return n;
}

void attr_i(::onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}
void attr_ints(::onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}
void attr_f(::onnx::NodeProto* n, const std::string& name, float v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
void attr_s(::onnx::NodeProto* n, const std::string& name, const std::string& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s(v);
}

// Ops the exporter never writes, as other exporters do: symbolic N/H/W, auto_pad, a standalone
// BatchNormalization, Constant + Reshape, MatMul + Add, Gemm with transB 0 and a scalar C,
// Identity, Dropout with a ratio input, AveragePool with ceil_mode, Softmax over axis 1.
::onnx::ModelProto hand_built(int opset) {
  ::onnx::ModelProto m;
  m.set_ir_version(opset >= 13 ? 7 : 6);
  m.set_producer_name("lockstep fuzz seeds");
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("hand_built");
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(::onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("N");
  tt->mutable_shape()->add_dim()->set_dim_value(2);
  tt->mutable_shape()->add_dim()->set_dim_param("H");
  tt->mutable_shape()->add_dim()->set_dim_param("W");
  std::vector<float> w(3 * 2 * 3 * 3);
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(int(i % 5) - 2) * 0.125f;
  *g->add_initializer() = tensor("w", {3, 2, 3, 3}, w);
  auto* c = node(g, "Conv", {"x", "w"}, {"c"});
  attr_s(c, "auto_pad", "SAME_UPPER");
  attr_ints(c, "kernel_shape", {3, 3});
  *g->add_initializer() = tensor("scale", {3}, {1.0f, 0.5f, 2.0f});
  *g->add_initializer() = tensor("bias", {3}, {0.0f, 0.1f, -0.1f});
  *g->add_initializer() = tensor("mean", {3}, {0.2f, 0.0f, -0.3f});
  *g->add_initializer() = tensor("var", {3}, {1.0f, 4.0f, 0.25f});
  auto* r0 = node(g, "Relu", {"c"}, {"r0"});
  (void)r0;
  auto* bn = node(g, "BatchNormalization", {"r0", "scale", "bias", "mean", "var"}, {"bn"});
  attr_f(bn, "epsilon", 1.001e-5f);
  if (opset < 7) attr_i(bn, "is_test", 1);
  auto* ap = node(g, "AveragePool", {"bn"}, {"ap"});
  attr_ints(ap, "kernel_shape", {2, 2});
  attr_ints(ap, "strides", {2, 2});
  if (opset >= 10) attr_i(ap, "ceil_mode", 1);
  node(g, "Identity", {"ap"}, {"id"});
  // [N, 3, 4, 4] for the 8x8 input the fuzz target gives symbolic H/W.
  auto* shape = node(g, "Constant", {}, {"shape"});
  auto* sa = shape->add_attribute();
  sa->set_name("value");
  sa->set_type(::onnx::AttributeProto::TENSOR);
  auto* st = sa->mutable_t();
  st->set_data_type(::onnx::TensorProto::INT64);
  st->add_dims(2);
  st->add_int64_data(0);
  st->add_int64_data(-1);
  node(g, "Reshape", {"id", "shape"}, {"flat"});
  std::vector<float> mm(48 * 5);
  for (size_t i = 0; i < mm.size(); ++i) mm[i] = float(int(i % 9) - 4) * 0.0625f;
  *g->add_initializer() = tensor("mm", {48, 5}, mm);
  *g->add_initializer() = tensor("mb", {5}, {0.5f, -0.5f, 0.25f, 0.0f, 1.0f});
  node(g, "MatMul", {"flat", "mm"}, {"mmo"});
  node(g, "Add", {"mmo", "mb"}, {"mma"});
  if (opset >= 12) {
    *g->add_initializer() = tensor("ratio", {}, {0.25f});
    node(g, "Dropout", {"mma", "ratio"}, {"drop"});
  } else {
    auto* d = node(g, "Dropout", {"mma"}, {"drop"});
    attr_f(d, "ratio", 0.25f);
    if (opset < 7) attr_i(d, "is_test", 1);
  }
  std::vector<float> gw(5 * 4);
  for (size_t i = 0; i < gw.size(); ++i) gw[i] = float(i) * 0.01f;
  *g->add_initializer() = tensor("gw", {5, 4}, gw);
  *g->add_initializer() = tensor("gc", {}, {0.125f});
  auto* gemm = node(g, "Gemm", {"drop", "gw", "gc"}, {"gemm"});
  attr_i(gemm, "transB", 0);
  auto* sm = node(g, "Softmax", {"gemm"}, {"y"});
  attr_i(sm, "axis", opset >= 13 ? -1 : 1);
  auto* out = g->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(::onnx::TensorProto::FLOAT);
  return m;
}

void save_model(const ::onnx::ModelProto& m, const std::string& p) {
  std::string s;
  if (!m.SerializeToString(&s)) throw std::runtime_error("cannot serialize " + p);
  bytes(p, s);
}

void onnx_seeds() {
  const graph::Network res = with_weights(fuzz::onnx_network(), 1);
  const graph::Network plain = with_weights(fuzz::onnx_plain_network(), 2);
  for (int opset : {11, 13, 17})
    lockstep::onnx::save_onnx(res, path("onnx", "resnet_like_opset" + std::to_string(opset) + ".onnx"), opset);
  graph::Network prepared = res;
  graph::prepare(prepared);  // BatchNorm folded, ReLU fused
  lockstep::onnx::save_onnx(prepared, path("onnx", "resnet_like_prepared.onnx"), 13);
  lockstep::onnx::save_onnx(plain, path("onnx", "plain_opset12.onnx"), 12);
  lockstep::onnx::save_onnx(with_weights(fuzz::keras_network(), 3), path("onnx", "keras_names.onnx"), 13);
  // Float data instead of raw_data, and int64 constants: written by hand.
  for (int opset : {6, 11, 13}) save_model(hand_built(opset), path("onnx", "hand_opset" + std::to_string(opset) + ".onnx"));
  // Edge cases: truncated, the hand-built model with an unsupported op, no graph.
  const std::string full = read(path("onnx", "resnet_like_opset13.onnx"));
  bytes(path("onnx", "bad_truncated.onnx"), full.substr(0, full.size() * 2 / 3));
  ::onnx::ModelProto m = hand_built(13);
  m.mutable_graph()->mutable_node(0)->set_op_type("ConvTranspose");
  save_model(m, path("onnx", "bad_unsupported_op.onnx"));
  ::onnx::ModelProto empty;
  empty.set_ir_version(7);
  save_model(empty, path("onnx", "bad_no_graph.onnx"));
}

// ---- Keras HDF5 ---------------------------------------------------------------------------

hid_t ok(hid_t id, const char* what) {
  if (id < 0) throw std::runtime_error(std::string("HDF5 call failed: ") + what);
  return id;
}

// Strings as h5py writes Python lists: variable-length UTF-8 (an empty list: float64 (0,)).
void vlen_strings(hid_t obj, const std::string& name, const std::vector<std::string>& values) {
  if (values.empty()) {
    const hsize_t zero = 0;
    const hid_t space = ok(H5Screate_simple(1, &zero, nullptr), "H5Screate_simple");
    H5Aclose(ok(H5Acreate2(obj, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2"));
    H5Sclose(space);
    return;
  }
  const hid_t type = ok(H5Tcopy(H5T_C_S1), "H5Tcopy");
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  const hsize_t n = values.size();
  const hid_t space = ok(H5Screate_simple(1, &n, nullptr), "H5Screate_simple");
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  const hid_t attr = ok(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
  ok(H5Awrite(attr, type, ptrs.data()), "H5Awrite");
  H5Aclose(attr);
  H5Sclose(space);
  H5Tclose(type);
}

struct RawWeight {
  std::string name;
  std::vector<hsize_t> dims;
  hid_t file_type = H5T_IEEE_F32LE;
};
struct RawLayer {
  std::string name;
  std::vector<RawWeight> weights;
};

// A Keras file written by hand (values i * 0.01), optionally with layer_names split in two.
void write_raw(const std::string& p, const std::vector<RawLayer>& layers, bool split) {
  const hid_t file = ok(H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "H5Fcreate");
  std::vector<std::string> names;
  for (const auto& l : layers) names.push_back(l.name);
  if (split) {
    const size_t half = names.size() / 2;
    vlen_strings(file, "layer_names0", {names.begin(), names.begin() + long(half)});
    vlen_strings(file, "layer_names1", {names.begin() + long(half), names.end()});
  } else {
    vlen_strings(file, "layer_names", names);
  }
  vlen_strings(file, "backend", {"tensorflow"});
  const hid_t lcpl = ok(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate");
  H5Pset_create_intermediate_group(lcpl, 1);
  for (const auto& l : layers) {
    const hid_t g = ok(H5Gcreate2(file, l.name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2");
    std::vector<std::string> wnames;
    for (const auto& w : l.weights) wnames.push_back(w.name);
    vlen_strings(g, "weight_names", wnames);
    for (const auto& w : l.weights) {
      hsize_t n = 1;
      for (auto d : w.dims) n *= d;
      std::vector<float> v(n);
      for (size_t i = 0; i < n; ++i) v[i] = float(i) * 0.01f + 0.5f;
      const hid_t space = ok(H5Screate_simple(int(w.dims.size()), w.dims.data(), nullptr), "H5Screate_simple");
      const hid_t ds = ok(H5Dcreate2(g, w.name.c_str(), w.file_type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT), "H5Dcreate2");
      ok(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "H5Dwrite");
      H5Dclose(ds);
      H5Sclose(space);
    }
    H5Gclose(g);
  }
  H5Pclose(lcpl);
  H5Fclose(file);
}

// The layers of fuzz::keras_network() as Keras names them, with `conv_name`, `bn_name`,
// `dense_name` overrides for the legacy spelling; BatchNorm weights given by `bn`.
std::vector<RawLayer> keras_layers(hid_t type, const std::vector<std::string>& bn, bool legacy) {
  auto bnw = [&](const std::string& layer) {
    std::vector<RawWeight> w;
    for (const auto& role : bn) w.push_back({layer + "/" + role + ":0", {0}, type});
    return w;
  };
  auto fix = [](std::vector<RawWeight> w, hsize_t c) {
    for (auto& x : w) x.dims = {c};
    return w;
  };
  const std::string c1 = legacy ? "conv1" : "conv1_conv", b1 = legacy ? "bn_conv1" : "conv1_bn";
  const std::string c2 = legacy ? "res2a_branch2a" : "conv2_block1_1_conv";
  const std::string b2 = legacy ? "bn2a_branch2a" : "conv2_block1_1_bn";
  const std::string top = legacy ? "fc1000" : "predictions";
  return {
      {"input_1", {}},
      {c1, {{c1 + "/kernel:0", {3, 3, 3, 4}, type}, {c1 + "/bias:0", {4}, type}}},
      {b1, fix(bnw(b1), 4)},
      {"conv1_relu", {}},
      {"pool1_pool", {}},
      {c2, {{c2 + "/kernel:0", {1, 1, 4, 2}, type}, {c2 + "/bias:0", {2}, type}}},
      {b2, fix(bnw(b2), 2)},
      {"flatten", {}},
      {"fc1", {{"fc1/kernel:0", {18, 5}, type}, {"fc1/bias:0", {5}, type}}},
      {top, {{top + "/kernel:0", {5, 3}, type}, {top + "/bias:0", {3}, type}}},
  };
}

void keras_seeds() {
  const graph::Network net = with_weights(fuzz::keras_network(), 4);
  lockstep::keras::save_keras_weights(net, path("keras_h5", "modern.h5"), false);
  lockstep::keras::save_keras_weights(net, path("keras_h5", "legacy_names.h5"), true);
  lockstep::keras::SaveOptions whole;
  whole.whole_model = true;
  lockstep::keras::save_keras_weights(net, path("keras_h5", "whole_model.h5"), whole);
  const std::vector<std::string> all = {"gamma", "beta", "moving_mean", "moving_variance"};
  write_raw(path("keras_h5", "h5py_vlen.h5"), keras_layers(H5T_IEEE_F32LE, all, false), false);
  write_raw(path("keras_h5", "h5py_split_f64_no_gamma.h5"),
            keras_layers(H5T_IEEE_F64LE, {"beta", "moving_mean", "moving_variance"}, true), true);
  // Edge cases: int32 weights, a wrong kernel shape, a truncated file.
  write_raw(path("keras_h5", "bad_int32.h5"), keras_layers(H5T_STD_I32LE, all, false), false);
  auto layers = keras_layers(H5T_IEEE_F32LE, all, false);
  layers[1].weights[0].dims = {3, 3, 4, 3};
  write_raw(path("keras_h5", "bad_kernel_shape.h5"), layers, false);
  const std::string full = read(path("keras_h5", "modern.h5"));
  bytes(path("keras_h5", "bad_truncated.h5"), full.substr(0, full.size() / 2));
}

// ---- pipeline cache -------------------------------------------------------------------------

std::string cache_header(uint32_t size, uint32_t version, uint32_t vendor, uint32_t device) {
  std::string h(32, '\0');
  std::memcpy(&h[0], &size, 4);
  std::memcpy(&h[4], &version, 4);
  std::memcpy(&h[8], &vendor, 4);
  std::memcpy(&h[12], &device, 4);
  std::memcpy(&h[16], "val-%s", 6);  // lavapipe's pipelineCacheUUID (the fuzz target's identity)
  return h;
}

void cache_seeds() {
  bytes(path("pipeline_cache", "lavapipe_header_only.bin"), cache_header(32, 1, 0x10005, 0));
  bytes(path("pipeline_cache", "lavapipe_with_data.bin"), cache_header(32, 1, 0x10005, 0) + std::string(40, '\x5a'));
  bytes(path("pipeline_cache", "long_header.bin"), cache_header(48, 1, 0x10005, 0) + std::string(16, '\x01'));
  bytes(path("pipeline_cache", "bad_other_vendor.bin"), cache_header(32, 1, 0x10de, 0x2684));
  bytes(path("pipeline_cache", "bad_header_size.bin"), cache_header(0xffffffffu, 1, 0x10005, 0));
  bytes(path("pipeline_cache", "bad_version.bin"), cache_header(32, 2, 0x10005, 0));
  bytes(path("pipeline_cache", "bad_short.bin"), cache_header(32, 1, 0x10005, 0).substr(0, 20));
}

// ---- result files ---------------------------------------------------------------------------

#ifdef LOCKSTEP_FUZZ_HAVE_REPORT
// As `lockstep run --save [--layers]` writes them (tools/cmd_run.cpp).
std::map<std::string, std::string> result_metadata(const std::string& order) {
  return {{"format", "lockstep-result-1"},
          {"engine", "lockstep 0.1.0"},
          {"device.name", "llvmpipe (LLVM 15.0.6, 256 bits)"},
          {"device.vendor", "Mesa"},
          {"device.subgroup_size", "8"},
          {"order", order},
          {"contract", "muladd"},
          {"denormals", "preserve"},
          {"model", "resnet18/torch/32"},
          {"weights", "random:1"},
          {"weights.xxh3_128", std::string(32, 'a')},
          {"input.xxh3_128", std::string(32, 'b')},
          {"preprocess", "torch"}};
}

void result_seeds() {
  auto write = [](const std::string& name, const std::vector<io::ResultTensor>& tensors, std::string order) {
    auto meta = result_metadata(order);
    for (const auto& t : tensors) meta[t.name + ".xxh3_128"] = report::xxh3_128_hex(t.data.data(), t.data.size() * 4);
    io::write_safetensors(path("result_reader", name), tensors, meta);
  };
  std::vector<float> probs = {0.1f, 0.2f, 0.7f, 0.25f, 0.25f, 0.5f};
  write("output_only.safetensors", {{"output", {2, 3}, probs}}, "fixed");
  std::vector<float> act(1 * 2 * 3 * 3);
  for (size_t i = 0; i < act.size(); ++i) act[i] = float(i) - 4.5f;
  write("layers.safetensors",
        {{"output", {1, 3}, {0.5f, 0.25f, 0.25f}},
         {"layer.0.input", {1, 2, 3, 3}, act},
         {"layer.1.conv1", {1, 2, 3, 3}, act},
         {"layer.2.flatten", {1, 18}, act}},
        "free");
  write("empty_tensor.safetensors", {{"output", {0, 3}, {}}}, "fixed");
  // Edge cases: a fingerprint that does not match, truncated data, a header length past the end.
  std::string good = read(path("result_reader", "output_only.safetensors"));
  std::string bad = good;
  bad[bad.size() - 1] ^= 0x40;
  bytes(path("result_reader", "bad_fingerprint.safetensors"), bad);
  bytes(path("result_reader", "bad_truncated.safetensors"), good.substr(0, good.size() - 5));
  bad = good;
  bad[5] = '\x7f';
  bytes(path("result_reader", "bad_header_length.safetensors"), bad);
}
#endif

// ---- crafted inputs for the defects found (fuzz/README.md, "Findings") ----------------------

void regressions(const fs::path& dir) {
  // A 16-bit greyscale PGM: stb_image 2.27 converted its samples to RGB as if they were 8-bit
  // and then read twice the buffer it allocated (heap-buffer-overflow in stbi__convert_16_to_8).
  fs::create_directories(dir / "image");
  bytes((dir / "image" / "grey16_p5.pgm").string(), std::string("P5 2 1 65535\n\x12\x34\xab\xcd", 17));
  // A legacy-looking layer name of 100000 characters: legacy_names.cpp matched it with
  // std::regex, whose libstdc++ matcher recursed once per character (stack overflow).
  const fs::path d = dir / "keras_h5";
  fs::create_directories(d);
  auto layers = keras_layers(H5T_IEEE_F32LE, {"gamma", "beta", "moving_mean", "moving_variance"}, false);
  const std::string name = "res2b" + std::string(100000, '1') + "_branch2a";
  layers.push_back({name, {{"k:0", {1}, H5T_IEEE_F32LE}}});
  write_raw((d / "long_legacy_layer_name.h5").string(), layers, false);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [REGRESSIONS_DIR]\n", argv[0]);
    return 2;
  }
  try {
    root = argv[1];
    npy_seeds();
    image_seeds();
    onnx_seeds();
    keras_seeds();
    cache_seeds();
#ifdef LOCKSTEP_FUZZ_HAVE_REPORT
    result_seeds();
#endif
    if (argc > 2) regressions(argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_seed_corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}
