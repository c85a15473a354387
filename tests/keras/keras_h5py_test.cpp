// Cross-checks with h5py, the library Keras writes and reads these files with: h5py must see
// our files as Keras' loader expects them, and we must read a file written by Keras' own saving
// code (legacy_h5_format.save_weights_to_hdf5_group, reproduced below with plain h5py). Skipped,
// saying so, where no python3 with h5py and numpy exists (Debian: python3-h5py).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "keras/keras_h5.hpp"
#include "keras_test_util.hpp"
#include "models/models.hpp"

namespace lockstep::keras::test {
namespace {

// A python3 that imports h5py and numpy, or "".
std::string python_with_h5py() {
  for (const char* py : {"python3", "/usr/bin/python3"})
    if (std::system((std::string(py) + " -c 'import h5py, numpy' >/dev/null 2>&1").c_str()) == 0) return py;
  return "";
}

int run_python(const std::string& py, const std::string& script, const std::string& arg) {
  const std::string file = scratch("check.py");
  std::ofstream(file) << script;
  return std::system((py + " " + file + " '" + arg + "'").c_str());
}

TEST(KerasH5py, H5pySeesTheKerasLayout) {
  const std::string py = python_with_h5py();
  if (py.empty()) GTEST_SKIP() << "no python3 with h5py and numpy: h5py cross-check skipped";
  models::ModelOptions o;
  o.arch = "vgg11";
  o.input_size = 64;
  o.classes = 10;
  graph::Network net = models::build(o);
  models::init_synthetic(net, 5);
  const std::string path = scratch("for_h5py.h5");
  save_keras_weights(net, path);
  // What Keras' load_weights_from_hdf5_group reads, and the fc1 row order it expects.
  const std::string script = R"(
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r')
names = [n.decode('utf8') for n in f.attrs['layer_names']]
assert f.attrs['layer_names'].dtype.kind == 'S', f.attrs['layer_names'].dtype
assert f.attrs['backend'] == b'tensorflow' and f.attrs['keras_version'] == b'2.15.0'
assert names[0] == 'input' and 'block1_conv1' in names and names[-1] == 'probabilities', names
with_weights = [n for n in names if len(f[n].attrs['weight_names'])]
assert with_weights == ['block1_conv1', 'block2_conv1', 'block3_conv1', 'block3_conv2', 'block4_conv1',
                        'block4_conv2', 'block5_conv1', 'block5_conv2', 'fc1', 'fc2', 'predictions'], with_weights
g = f['block1_conv1']
wn = [n.decode('utf8') for n in g.attrs['weight_names']]
assert wn == ['block1_conv1/kernel:0', 'block1_conv1/bias:0'], wn
k = np.asarray(g[wn[0]])
assert k.dtype == np.float32 and k.shape == (3, 3, 3, 64), (k.dtype, k.shape)
fc1 = np.asarray(f['fc1']['fc1/kernel:0'])
assert fc1.shape == (512 * 2 * 2, 4096), fc1.shape
# A Keras model flattens NHWC: row (y*2 + x)*512 + c. Write column 7 out for the C++ side.
np.asarray(fc1[:, 7], dtype='<f4').tofile(sys.argv[1] + '.col7')
print('h5py ok')
)";
  ASSERT_EQ(run_python(py, script, path), 0);
  std::vector<float> col(2048);
  std::ifstream(path + ".col7", std::ios::binary).read(reinterpret_cast<char*>(col.data()), 2048 * 4);
  const auto& w = net.params.at("fc1.weight");
  for (uint32_t c = 0; c < 512; ++c)
    for (uint32_t p = 0; p < 4; ++p) ASSERT_EQ(col[p * 512 + c], w[7 * 2048 + c * 4 + p]) << c << " " << p;
}

TEST(KerasH5py, ReadsAFileWrittenAsKerasWritesIt) {
  const std::string py = python_with_h5py();
  if (py.empty()) GTEST_SKIP() << "no python3 with h5py and numpy: h5py cross-check skipped";
  // keras/src/legacy/saving/legacy_h5_format.py: attrs set from Python lists (h5py 3 stores
  // them as variable-length strings), groups created in sorted order, "top_level_model_weights".
  const std::string script = R"(
import sys, h5py, numpy as np
layers = [('input_1', []), ('conv1_pad', []), ('conv1_conv', [('kernel', (7, 7, 3, 4)), ('bias', (4,))]),
          ('conv1_bn', [('gamma', (4,)), ('beta', (4,)), ('moving_mean', (4,)), ('moving_variance', (4,))]),
          ('flatten', []), ('predictions', [('kernel', (4 * 2 * 2, 3)), ('bias', (3,))])]
f = h5py.File(sys.argv[1], 'w')
f.attrs['layer_names'] = [n.encode('utf8') for n, _ in layers]
f.attrs['backend'] = 'tensorflow'.encode('utf8')
f.attrs['keras_version'] = '2.15.0'.encode('utf8')
value = 0
for name, weights in sorted(layers):
    g = f.create_group(name)
    names = [(name + '/' + w + ':0').encode('utf8') for w, _ in weights]
    g.attrs['weight_names'] = names
    for (w, shape), n in zip(weights, names):
        size = int(np.prod(shape))
        data = (np.arange(size, dtype=np.float32) + value).reshape(shape)
        value += size
        if w == 'moving_variance':
            data = np.abs(data) + 1
        d = g.create_dataset(n, shape, dtype=data.dtype)
        d[:] = data
t = f.create_group('top_level_model_weights')
t.attrs['weight_names'] = []
f.close()
)";
  const std::string path = scratch("from_h5py.h5");
  ASSERT_EQ(run_python(py, script, path), 0);

  graph::Network net;
  net.name = "mini_resnet_stem";
  net.add_input({3, 4, 4});  // conv1 gives 4x2x2: the Dense rows are permuted
  graph::Layer c;
  c.name = "conv1_conv";
  c.kind = graph::LayerKind::Conv2d;
  c.out_channels = 4;
  c.kh = c.kw = 7;
  c.stride_h = c.stride_w = 2;
  c.pad_top = c.pad_left = c.pad_bottom = c.pad_right = 3;
  c.bias = true;
  net.add(c);
  graph::Layer bn;
  bn.name = "conv1_bn";
  bn.kind = graph::LayerKind::BatchNorm;
  net.add(bn);
  graph::Layer fl;
  fl.name = "flatten";
  fl.kind = graph::LayerKind::Flatten;
  net.add(fl);
  graph::Layer d;
  d.name = "predictions";
  d.kind = graph::LayerKind::Dense;
  d.units = 3;
  d.bias = true;
  net.add(d);
  load_keras_weights(net, path);

  // Values were numbered in sorted layer order: conv1_bn (16), conv1_conv (588 + 4), predictions.
  EXPECT_EQ(net.params.at("conv1_bn.gamma")[1], 1.0f);
  EXPECT_EQ(net.params.at("conv1_bn.var")[0], 13.0f);
  // kernel[y=0][x=1][i=2][o=3] = 16 + (1*3 + 2)*4 + 3 is OIHW [3][2][0][1].
  EXPECT_EQ(net.params.at("conv1_conv.weight")[((3 * 3 + 2) * 7 + 0) * 7 + 1], 16.0f + 23.0f);
  EXPECT_EQ(net.params.at("conv1_conv.bias")[2], 16.0f + 588.0f + 2.0f);
  // predictions kernel row (y=1, x=0, c=3) = (1*2 + 0)*4 + 3 = 11, unit 2, is column (3*2 + 1)*2 + 0 = 14.
  EXPECT_EQ(net.params.at("predictions.weight")[2 * 16 + 14], 16.0f + 592.0f + 11.0f * 3 + 2);
}

}  // namespace
}  // namespace lockstep::keras::test
