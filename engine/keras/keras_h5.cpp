#include "keras/keras_h5.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

#include "keras/h5.hpp"
#include "keras/legacy_names.hpp"
#include "util/fault.hpp"

#include <unistd.h>

namespace lockstep::keras {

using graph::Layer;
using graph::LayerKind;
using graph::Network;
using graph::Shape3;
using h5::check;
using h5::fail;
using h5::Hid;
using Dims = std::vector<uint64_t>;
using Params = std::map<std::string, std::vector<float>>;

namespace {

constexpr size_t kAttributeLimit = 64512;  // Keras' HDF5_OBJECT_HEADER_LIMIT: longer lists are split

// The classifier layers of keras.applications' VGG and ResNet, absent from _notop files.
bool is_top(const std::string& name) { return name == "fc1" || name == "fc2" || name == "predictions"; }

std::string join(const std::vector<std::string>& names) {  // [a, b]
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return "[" + s + "]";
}

bool has_params(const Layer& l) {
  return l.kind == LayerKind::Conv2d || l.kind == LayerKind::Dense || l.kind == LayerKind::BatchNorm;
}

std::string type_name(hid_t type) {  // numpy's spelling: float32, int32, uint8
  const size_t bits = H5Tget_size(type) * 8;
  switch (H5Tget_class(type)) {
    case H5T_FLOAT:
      return "float" + std::to_string(bits);
    case H5T_INTEGER:
      return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_STRING:
      return "string";
    default:
      return "HDF5 type class " + std::to_string(int(H5Tget_class(type)));
  }
}

std::string dims_str(const Dims& d) {  // numpy's spelling: (3, 3, 64, 128), (64,)
  std::string s = "(";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + (d.size() == 1 ? ",)" : ")");
}

// Keras flattens NHWC, so the Dense kernel row of the network's NCHW column (c, y, x) is
// (y*w + x)*c_count + c, where (c_count, h, w) is the shape before Flatten.
Shape3 dense_source_shape(const Network& net, const Layer& dense) {
  uint32_t i = dense.inputs.at(0);
  while (net.layers[i].kind == LayerKind::Flatten || net.layers[i].kind == LayerKind::Dropout ||
         net.layers[i].kind == LayerKind::Relu)
    i = net.layers[i].inputs.at(0);
  return net.layers[i].out;
}

// Keras (kh, kw, in, out) -> OIHW, and back.
std::vector<float> conv_from_keras(const std::vector<float>& k, uint64_t o_n, uint64_t i_n, uint64_t kh, uint64_t kw) {
  std::vector<float> w(k.size());
  for (uint64_t o = 0; o < o_n; ++o)
    for (uint64_t i = 0; i < i_n; ++i)
      for (uint64_t y = 0; y < kh; ++y)
        for (uint64_t x = 0; x < kw; ++x) w[((o * i_n + i) * kh + y) * kw + x] = k[((y * kw + x) * i_n + i) * o_n + o];
  return w;
}
std::vector<float> conv_to_keras(const std::vector<float>& w, uint64_t o_n, uint64_t i_n, uint64_t kh, uint64_t kw) {
  std::vector<float> k(w.size());
  for (uint64_t o = 0; o < o_n; ++o)
    for (uint64_t i = 0; i < i_n; ++i)
      for (uint64_t y = 0; y < kh; ++y)
        for (uint64_t x = 0; x < kw; ++x) k[((y * kw + x) * i_n + i) * o_n + o] = w[((o * i_n + i) * kh + y) * kw + x];
  return k;
}

// Keras (in, units) with `in` in (h, w, c) order <-> [units][in] with `in` in (c, h, w) order.
std::vector<float> dense_convert(const std::vector<float>& src, const Shape3& s, uint64_t units, bool from_keras) {
  std::vector<float> dst(src.size());
  for (uint64_t c = 0; c < s.c; ++c)
    for (uint64_t y = 0; y < s.h; ++y)
      for (uint64_t x = 0; x < s.w; ++x) {
        const uint64_t col = (c * s.h + y) * s.w + x, row = (y * s.w + x) * s.c + c;
        for (uint64_t u = 0; u < units; ++u) {
          if (from_keras)
            dst[u * s.elements() + col] = src[row * units + u];
          else
            dst[row * units + u] = src[u * s.elements() + col];
        }
      }
  return dst;
}

// ---------------------------------------------------------------------------------------------
// Reading

struct Reader {
  const std::string& path;
  uint64_t file_size;
  std::vector<std::string>& notes;

  // A list attribute, joined from its chunks (name0, name1, ...) when Keras had to split it.
  std::vector<std::string> read_list(hid_t obj, const std::string& name) const {
    if (h5::has_attribute(obj, name)) return h5::read_strings(obj, name, path, file_size);
    std::vector<std::string> all;
    for (int i = 0; h5::has_attribute(obj, name + std::to_string(i)); ++i) {
      auto part = h5::read_strings(obj, name + std::to_string(i), path, file_size);
      all.insert(all.end(), part.begin(), part.end());
    }
    return all;
  }

  std::vector<float> read_dataset(hid_t group, const std::string& layer, const std::string& name,
                                  const Dims& expected) const {
    const std::string where = "layer '" + layer + "', dataset '" + name + "'";
    if (!h5::has_link(group, name)) fail(path, where + ": listed in weight_names but absent from the file");
    Hid ds = check(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose, path, where + ": cannot open it");
    Hid space = check(H5Dget_space(ds.get()), H5Sclose, path, where + ": cannot read its shape");
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0 || rank > 32) fail(path, where + ": cannot read its shape", true);
    std::vector<hsize_t> hd(size_t(rank), 0);
    if (rank > 0)
      check(H5Sget_simple_extent_dims(space.get(), hd.data(), nullptr), path, where + ": cannot read its shape");
    const Dims dims(hd.begin(), hd.end());
    Hid type = check(H5Dget_type(ds.get()), H5Tclose, path, where + ": cannot read its type");
    const H5T_class_t cls = H5Tget_class(type.get());
    const size_t tsize = H5Tget_size(type.get());

    // The sizes come from the file: compare them with the file before trusting them.
    Hid dcpl = check(H5Dget_create_plist(ds.get()), H5Pclose, path, where + ": cannot read its layout");
    uint64_t bytes = tsize;
    bool absurd = false;
    for (uint64_t d : dims) {
      if (d != 0 && bytes > std::numeric_limits<uint64_t>::max() / d)
        absurd = true;
      else
        bytes *= d;
    }
    if (absurd || (H5Pget_nfilters(dcpl.get()) == 0 && bytes > file_size))
      fail(path, where + ": shape " + dims_str(dims) + " needs more bytes than the file's " +
                     std::to_string(file_size) + " (corrupt or truncated file; expected shape " + dims_str(expected) +
                     ")");
    if (dims != expected) fail(path, where + ": shape " + dims_str(dims) + ", expected " + dims_str(expected));
    if (cls != H5T_FLOAT || (tsize != 4 && tsize != 8))
      fail(path, where + ": type " + type_name(type.get()) + ", expected float32");
    std::vector<float> v(bytes / tsize);
    if (tsize == 4) {
      check(H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), path,
            where + ": cannot read it");
    } else {
      std::vector<double> d(v.size());
      check(H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, d.data()), path,
            where + ": cannot read it");
      for (size_t i = 0; i < d.size(); ++i) v[i] = static_cast<float>(d[i]);
      notes.push_back("keras weights '" + path + "': " + where + " is float64, rounded to float32");
    }
    return v;
  }

  void expect_count(const std::string& layer, const Layer& l, const std::vector<std::string>& names, size_t want,
                    const char* which) const {
    if (names.size() == want) return;
    fail(path, "layer '" + layer + "' has the weights " + join(names) + ", expected " + std::to_string(want) + " (" +
                   which + ") for the " + graph::kind_name(l.kind) + " '" + l.name + "'");
  }

  void load_layer(hid_t g, const std::string& file_name, const std::vector<std::string>& wn, const Network& net,
                  const Layer& l, Params& out) const {
    const Shape3 in = net.layers[l.inputs.at(0)].out;
    if (l.kind == LayerKind::Conv2d) {
      expect_count(file_name, l, wn, l.bias ? 2 : 1, l.bias ? "kernel, bias" : "kernel");
      const auto k = read_dataset(g, file_name, wn[0], {l.kh, l.kw, in.c, l.out_channels});
      out[l.name + ".weight"] = conv_from_keras(k, l.out_channels, in.c, l.kh, l.kw);
      if (l.bias) out[l.name + ".bias"] = read_dataset(g, file_name, wn[1], {l.out_channels});
    } else if (l.kind == LayerKind::Dense) {
      expect_count(file_name, l, wn, l.bias ? 2 : 1, l.bias ? "kernel, bias" : "kernel");
      Shape3 src = dense_source_shape(net, l);
      if (src.elements() != in.elements()) src = {uint32_t(in.elements()), 1, 1};
      const auto k = read_dataset(g, file_name, wn[0], {in.elements(), l.units});
      out[l.name + ".weight"] = dense_convert(k, src, l.units, true);
      if (l.bias) out[l.name + ".bias"] = read_dataset(g, file_name, wn[1], {l.units});
    } else {
      load_batchnorm(g, file_name, wn, l, out);
    }
  }

  // gamma, beta, moving_mean, moving_variance in that order; with fewer, the names say which
  // are there (Keras omits gamma with scale=False, beta with center=False).
  void load_batchnorm(hid_t g, const std::string& file_name, const std::vector<std::string>& wn, const Layer& l,
                      Params& out) const {
    static const char* const roles[] = {".gamma", ".beta", ".mean", ".var"};
    if (wn.size() < 2 || wn.size() > 4) expect_count(file_name, l, wn, 4, "gamma, beta, moving_mean, moving_variance");
    std::vector<int> role(wn.size());
    for (size_t i = 0; i < wn.size(); ++i) {
      if (wn.size() == 4) {
        role[i] = int(i);
        continue;
      }
      std::string base = wn[i].substr(0, wn[i].rfind(':'));
      base = base.substr(base.rfind('/') + 1);
      auto ends = [&](const char* s) { return base.ends_with(s); };
      role[i] = ends("gamma") ? 0 : ends("beta") ? 1 : ends("mean") ? 2 : ends("variance") || ends("var") ? 3 : -1;
      if (role[i] < 0)
        fail(path, "layer '" + file_name + "', dataset '" + wn[i] +
                       "': not a BatchNormalization weight name "
                       "(gamma, beta, moving_mean, moving_variance)");
    }
    const uint64_t c = l.out.c;
    for (size_t i = 0; i < wn.size(); ++i) {
      if (out.count(l.name + roles[role[i]]))
        fail(path, "layer '" + file_name + "': two weights named like '" + wn[i] + "'");
      out[l.name + roles[role[i]]] = read_dataset(g, file_name, wn[i], {c});
    }
    for (int r = 0; r < 4; ++r) {
      if (out.count(l.name + roles[r])) continue;
      if (r >= 2)
        fail(path,
             "layer '" + file_name + "': BatchNormalization without its moving " + (r == 2 ? "mean" : "variance"));
      out[l.name + roles[r]] = std::vector<float>(c, r == 0 ? 1.0f : 0.0f);
      notes.push_back("keras weights '" + path + "': layer '" + file_name + "' has no " +
                      (r == 0 ? "gamma (scale=False): using 1" : "beta (center=False): using 0"));
    }
  }
};

// Checks what can be checked before HDF5 sees the file, so the common mistakes get plain words.
uint64_t check_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (!fs::exists(st)) fail(path, "no such file");
  if (fs::is_directory(st)) fail(path, "is a directory, not a weight file");
  if (!fs::is_regular_file(st)) fail(path, "is not a regular file (a device, pipe or socket?)");
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, std::string("cannot be read: ") + std::strerror(errno));
  const uint64_t size = fs::file_size(path, ec);
  if (ec) fail(path, "cannot read its size: " + ec.message());
  if (size == 0) fail(path, "empty file, not an HDF5 file");
  char head[8] = {};
  f.read(head, sizeof head);
  const std::string h(head, size_t(f.gcount()));
#if H5_VERSION_GE(1, 12, 0)
  const htri_t is_hdf5 = H5Fis_accessible(path.c_str(), H5P_DEFAULT);
#else
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
#endif
  if (is_hdf5 <= 0) {
    std::string hint;
    if (h.starts_with("\x89PNG"))
      hint = " (it is a PNG image)";
    else if (h.starts_with("\xFF\xD8\xFF"))
      hint = " (it is a JPEG image)";
    else if (h.starts_with("PK\x03\x04"))
      hint = " (it is a ZIP archive: a Keras 3 .keras file? save with model.save(\"model.h5\"))";
    else if (h.starts_with("\x08"))
      hint = " (an ONNX or other protobuf file?)";
    fail(path, "not an HDF5 file" + hint);
  }
  return size;
}

}  // namespace

namespace detail {

void load_keras_weights_in_process(Network& net, const std::string& path, bool lock_hdf5,
                                   std::map<std::string, std::vector<float>>& loaded,
                                   std::vector<std::string>& my_notes) {
  net.infer_shapes();
  // Fault-test hooks (util/fault.hpp), reached in the child process that parses the file: what
  // libhdf5 does on crafted files (fuzz/README.md), on demand.
  if (fault::hit("h5.crash")) std::raise(SIGSEGV);
  if (fault::hit("h5.hang"))
    for (;;) asm volatile("");  // a side effect: the loop may not be optimised away
  if (fault::hit("h5.oom")) {
    std::vector<std::vector<char>> hog;
    for (;;) hog.emplace_back(size_t(64) << 20, char(1));
  }
  {
    h5::H5Session session(lock_hdf5);
    const uint64_t size = check_file(path);
    Hid fapl = check(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, path, "HDF5 property list");
#if H5_VERSION_GE(1, 10, 7)
    H5Pset_file_locking(fapl.get(), false, true);  // read-only: never fail on filesystems without locks
#endif
    Hid file = check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose, path, "cannot open it as HDF5");
    Hid root = check(H5Gopen2(file.get(), "/", H5P_DEFAULT), H5Gclose, path, "cannot open the root group");
    auto has_names = [](hid_t g) {
      return h5::has_attribute(g, "layer_names") || h5::has_attribute(g, "layer_names0");
    };
    if (!has_names(root.get())) {
      if (!h5::has_link(root.get(), "model_weights"))
        fail(path,
             "no 'layer_names' attribute and no 'model_weights' group: not a Keras HDF5 weight file "
             "(Keras 3 '.weights.h5' files have another layout)");
      root = check(H5Gopen2(file.get(), "model_weights", H5P_DEFAULT), H5Gclose, path,
                   "cannot open group 'model_weights'");
      if (!has_names(root.get())) fail(path, "group 'model_weights' has no 'layer_names' attribute");
    }
    const Reader reader{path, size, my_notes};
    if (h5::has_attribute(root.get(), "backend")) {
      const auto backend = reader.read_list(root.get(), "backend");
      if (!backend.empty() && backend[0] == "theano")
        fail(path, "written by the Theano backend, whose convolution kernels are flipped; convert it with Keras first");
    }
    const auto layer_names = reader.read_list(root.get(), "layer_names");
    if (layer_names.empty()) fail(path, "'layer_names' is empty");

    // First match the layers, so a file for another network is named as such before any data
    // is read; then read the data.
    struct Match {
      std::string file_name;
      std::vector<std::string> weight_names;
      int index;
    };
    std::vector<Match> matches;
    std::set<std::string> matched;
    bool any_bn = false;
    for (const Layer& l : net.layers) any_bn = any_bn || l.kind == LayerKind::BatchNorm;
    for (const std::string& fname : layer_names) {
      if (!h5::has_link(root.get(), fname))
        fail(path, "layer '" + fname + "' is listed in layer_names but has no group");
      Hid g = check(H5Gopen2(root.get(), fname.c_str(), H5P_DEFAULT), H5Gclose, path,
                    "layer '" + fname + "': cannot open its group");
      auto weight_names = reader.read_list(g.get(), "weight_names");
      if (weight_names.empty()) continue;  // pooling, activation, padding, flatten, input, add
      // Legacy ResNet names map to ours, unless the network really has a layer of that name.
      const std::string target = net.find(fname) >= 0 ? fname : modern_resnet_name(fname);
      const int index = net.find(target);
      if (index < 0 || !has_params(net.layers[index]))
        fail(path,
             "layer '" + fname + "' (with weights " + join(weight_names) +
                 ") has no counterpart with "
                 "parameters in network '" +
                 net.name + "'" +
                 (index >= 0 ? std::string(" (there it is a ") + graph::kind_name(net.layers[index].kind) + ")" : "") +
                 (is_top(target) ? "; the file has a classifier: build the network with include_top=true" : "") +
                 (!any_bn && target.ends_with("_bn") ? "; was the network prepared already? load before graph::prepare"
                                                     : ""));
      if (!matched.insert(target).second) fail(path, "two layers in the file load network layer '" + target + "'");
      matches.push_back({fname, std::move(weight_names), index});
    }
    for (const Layer& l : net.layers)
      if (has_params(l) && !matched.count(l.name))
        fail(path, "network layer '" + l.name + "' (" + graph::kind_name(l.kind) + ") is missing from the file" +
                       (is_top(l.name) ? " (a _notop file? build the network with include_top=false)" : ""));
    for (const Match& m : matches) {
      Hid g = check(H5Gopen2(root.get(), m.file_name.c_str(), H5P_DEFAULT), H5Gclose, path,
                    "layer '" + m.file_name + "': cannot open its group");
      reader.load_layer(g.get(), m.file_name, m.weight_names, net, net.layers[m.index], loaded);
    }
  }
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Writing

namespace {

// As Keras' save_attributes_to_hdf5_group: one attribute, or numbered chunks (np.array_split,
// all with the longest string's length) when the list is over the object header limit.
void write_list(hid_t obj, const std::string& name, const std::vector<std::string>& values, const std::string& path) {
  size_t len = 1;
  for (const auto& v : values) len = std::max(len, v.size());
  size_t chunks = 1;
  while ((values.size() + chunks - 1) / chunks * len > kAttributeLimit) ++chunks;
  if (chunks == 1) return h5::write_strings(obj, name, values, false, path);
  size_t begin = 0;
  for (size_t i = 0; i < chunks; ++i) {
    const size_t n = values.size() / chunks + (i < values.size() % chunks ? 1 : 0);
    const std::vector<std::string> part(values.begin() + long(begin), values.begin() + long(begin + n));
    h5::write_strings(obj, name + std::to_string(i), part, false, path, len);
    begin += n;
  }
}

struct Weight {
  std::string role;  // kernel, bias, gamma, ...
  Dims dims;
  std::vector<float> values;
};

std::vector<Weight> keras_weights(const Network& shapes, const Layer& l, const Params& params) {
  auto p = [&](const char* role) -> const std::vector<float>& { return params.at(l.name + role); };
  std::vector<Weight> w;
  if (!has_params(l)) return w;
  const Shape3 in = shapes.layers[l.inputs.at(0)].out;
  if (l.kind == LayerKind::Conv2d) {
    w.push_back(
        {"kernel", {l.kh, l.kw, in.c, l.out_channels}, conv_to_keras(p(".weight"), l.out_channels, in.c, l.kh, l.kw)});
    if (l.bias) w.push_back({"bias", {l.out_channels}, p(".bias")});
  } else if (l.kind == LayerKind::Dense) {
    Shape3 src = dense_source_shape(shapes, l);
    if (src.elements() != in.elements()) src = {uint32_t(in.elements()), 1, 1};
    w.push_back({"kernel", {in.elements(), l.units}, dense_convert(p(".weight"), src, l.units, false)});
    if (l.bias) w.push_back({"bias", {l.units}, p(".bias")});
  } else {
    w.push_back({"gamma", {l.out.c}, p(".gamma")});
    w.push_back({"beta", {l.out.c}, p(".beta")});
    w.push_back({"moving_mean", {l.out.c}, p(".mean")});
    w.push_back({"moving_variance", {l.out.c}, p(".var")});
  }
  return w;
}

void write_file(const Network& shapes, const Params& params, const std::string& path, const std::string& tmp,
                const SaveOptions& o) {
  // Legacy names spell blocks as letters unless a stage is too long for them.
  std::map<char, uint32_t> blocks_per_stage;
  for (const Layer& l : shapes.layers) {
    char stage = 0;
    unsigned block = 0;
    if (resnet_block_of(l.name, &stage, &block)) blocks_per_stage[stage] = std::max(blocks_per_stage[stage], block);
  }
  std::vector<std::string> names;
  for (const Layer& l : shapes.layers) {
    char stage = 0;
    unsigned block = 0;
    const uint32_t blocks = resnet_block_of(l.name, &stage, &block) ? blocks_per_stage[stage] : 0;
    names.push_back(o.old_resnet_names && has_params(l) ? legacy_resnet_name(l.name, blocks) : l.name);
  }

  Hid file = check(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, path,
                   "cannot create '" + tmp + "'");
  Hid root = check(o.whole_model ? H5Gcreate2(file.get(), "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)
                                 : H5Gopen2(file.get(), "/", H5P_DEFAULT),
                   H5Gclose, path, "cannot create the weights group");
  for (hid_t g : {root.get(), file.get()}) {
    h5::write_strings(g, "backend", {"tensorflow"}, true, path);
    h5::write_strings(g, "keras_version", {"2.15.0"}, true, path);
    if (!o.whole_model) break;
  }
  write_list(root.get(), "layer_names", names, path);
  Hid lcpl = check(H5Pcreate(H5P_LINK_CREATE), H5Pclose, path, "HDF5 property list");
  check(H5Pset_create_intermediate_group(lcpl.get(), 1), path, "HDF5 property list");
  for (size_t li = 0; li < shapes.layers.size(); ++li) {
    const std::string& fname = names[li];
    Hid g = check(H5Gcreate2(root.get(), fname.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, path,
                  "cannot create group '" + fname + "'");
    const auto weights = keras_weights(shapes, shapes.layers[li], params);
    std::vector<std::string> wnames;
    for (const Weight& w : weights) wnames.push_back(fname + "/" + w.role + ":0");
    write_list(g.get(), "weight_names", wnames, path);
    for (size_t i = 0; i < weights.size(); ++i) {
      const std::string what = "layer '" + fname + "': cannot write dataset '" + wnames[i] + "'";
      const std::vector<hsize_t> hd(weights[i].dims.begin(), weights[i].dims.end());
      Hid space = check(H5Screate_simple(int(hd.size()), hd.data(), nullptr), H5Sclose, path, what);
      Hid ds = check(
          H5Dcreate2(g.get(), wnames[i].c_str(), H5T_IEEE_F32LE, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
          H5Dclose, path, what);
      check(H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, weights[i].values.data()), path, what);
    }
  }
  check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), path, "cannot write '" + tmp + "'");
  // HDF5 writes through its own file driver: the injected disk-full fault stands in for its
  // ENOSPC here, after the data went out, to exercise the same cleanup.
  if (fault::hit("write")) fail(path, "cannot write '" + tmp + "': No space left on device (injected: LOCKSTEP_FAULT=write)");
  root.reset();
  check(H5Fclose(file.release()), path, "cannot write '" + tmp + "' (closing it failed)");
}

}  // namespace

void save_keras_weights(const Network& net, const std::string& path, const SaveOptions& options) {
  // Shapes are needed for the kernel layouts; infer them on a copy without the parameters.
  Network shapes;
  shapes.name = net.name;
  shapes.layers = net.layers;
  shapes.infer_shapes();
  for (const auto& [pname, count] : shapes.expected_params()) {
    auto it = net.params.find(pname);
    if (it == net.params.end()) fail(path, "network parameter '" + pname + "' is missing");
    if (it->second.size() != count)
      fail(path, "network parameter '" + pname + "' has " + std::to_string(it->second.size()) + " values, expected " +
                     std::to_string(count));
  }
  const std::string tmp = path + ".partial." + std::to_string(::getpid());
  {
    h5::H5Session session;
    try {
      write_file(shapes, net.params, path, tmp, options);
    } catch (...) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    fail(path, "cannot rename '" + tmp + "' to it: " + ec.message());
  }
}

void save_keras_weights(const Network& net, const std::string& path, bool old_resnet_names) {
  save_keras_weights(net, path, SaveOptions{old_resnet_names, false});
}

}  // namespace lockstep::keras
