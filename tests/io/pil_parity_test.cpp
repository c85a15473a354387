// Cross-check against the real thing: Pillow resizes the same PNGs the way Keras' load_img and
// torchvision's Resize/CenterCrop do, NumPy does the normalisation, and the results must match
// lockstep's bit for bit. Runs only where python3 has numpy and PIL (Debian: python3-numpy,
// python3-pil); Keras and torch themselves are not needed, their steps are spelled out below.
#include "io/image.hpp"
#include "io/npy.hpp"

#include "test_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lockstep::io {
namespace {

constexpr const char* kScript = R"(import sys, numpy as np
from PIL import Image
d, size, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
mean_bgr = np.array([103.939, 116.779, 123.68])
mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
def save(name, a):  # HWC -> NCHW float32
    np.save(f'{d}/{name}.npy', np.ascontiguousarray(a.transpose(2, 0, 1)[None]).astype(np.float32))
for n in names:
    im = Image.open(f'{d}/{n}.png').convert('RGB')
    # keras.utils.load_img(target_size=(size, size)), interpolation='nearest'
    k = im if im.size == (size, size) else im.resize((size, size), Image.NEAREST)
    k = np.asarray(k)
    save(n + '.keras_u8', k)
    x = k.astype(np.float32)[..., ::-1].copy()  # img_to_array, then caffe mode: RGB -> BGR
    for c in range(3):
        x[..., c] -= mean_bgr[c]  # float32 arithmetic, as Keras does
    save(n + '.keras_f32', x)
    save(n + '.keras_f64', (k[..., ::-1].astype(np.float64) - mean_bgr).astype(np.float32))
    # torchvision Resize(size * 8 // 7) on a PIL image, then CenterCrop(size)
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size * 8 // 7, int(size * 8 // 7 * long / short)
    nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    r = im if (nw, nh) == im.size else im.resize((nw, nh), Image.BILINEAR)
    save(n + '.torch_resized_u8', np.asarray(r))
    top, left = int(round((nh - size) / 2.0)), int(round((nw - size) / 2.0))
    t = np.asarray(r.crop((left, top, left + size, top + size)))
    y = t.astype(np.float32) / np.float32(255)  # ToTensor, then Normalize, in float32
    y = (y - mean.astype(np.float32)) / std.astype(np.float32)
    save(n + '.torch_f32', y)
    save(n + '.torch_f64', ((t.astype(np.float64) / 255.0 - mean) / std).astype(np.float32))
)";

Image noise_image(uint32_t w, uint32_t h, uint32_t seed) {
  Image im{w, h, std::vector<uint8_t>(size_t(w) * h * 3)};
  uint32_t s = seed * 2654435761u + 1;
  for (uint8_t& v : im.rgb) {
    s = s * 1664525u + 1013904223u;
    v = uint8_t(s >> 24);
  }
  return im;
}

std::vector<uint8_t> as_bytes(const NpyArray& a) {
  std::vector<uint8_t> out;
  // NCHW back to interleaved HWC.
  const size_t plane = a.data.size() / 3;
  for (size_t i = 0; i < plane; ++i)
    for (size_t c = 0; c < 3; ++c) out.push_back(uint8_t(a.data[c * plane + i]));
  return out;
}

TEST(PilParity, ResizeAndPresetsMatchPillowAndNumpy) {
  const auto python = test::find_python("numpy, PIL");
  if (!python) GTEST_SKIP() << "no python3 with numpy and PIL (Debian: python3-numpy, "
                               "python3-pil): Pillow parity not checked here";
  test::ScratchDir dir;
  test::write_text(dir.path("parity.py"), kScript);

  struct Input {
    std::string name;
    Image image;
  };
  std::vector<Input> inputs;
  const std::pair<uint32_t, uint32_t> sizes[] = {{1, 1},     {37, 23},   {224, 224}, {256, 256},
                                                 {223, 257}, {300, 200}, {640, 480}, {5, 900},
                                                 {1000, 333}, {257, 1203}};
  for (auto [w, h] : sizes) {
    const std::string tag = std::to_string(w) + "x" + std::to_string(h);
    inputs.push_back({"gen" + tag, generate_test_image(w, h, w * 31 + h)});
    inputs.push_back({"noise" + tag, noise_image(w, h, w + h)});
  }
  std::string names;
  for (const Input& in : inputs) {
    write_png(dir.path(in.name + ".png"), in.image);
    names += " " + in.name;
  }
  ASSERT_TRUE(test::run_python(*python, dir.path("parity.py"), dir.path("") + " 224" + names));

  // Per preset (keras, torch): values that differ from the float32 emulation, largest gap.
  size_t f32_differences[2] = {0, 0}, values[2] = {0, 0};
  float max_f32_gap[2] = {0, 0};
  for (const Input& in : inputs) {
    SCOPED_TRACE(in.name);
    auto load = [&](const std::string& what) { return read_npy(dir.path(in.name + what + ".npy")); };
    // Pixels after each resize: exact.
    EXPECT_EQ(resize_nearest_pil(in.image, 224, 224).rgb, as_bytes(load(".keras_u8")));
    const TorchGeometry g = torch_geometry(in.image.width, in.image.height, 224);
    EXPECT_EQ(resize_bilinear_pil(in.image, g.resized_width, g.resized_height).rgb,
              as_bytes(load(".torch_resized_u8")));
    // Tensors: bit for bit against the double-then-round reference, and close to the
    // frameworks' own float32 arithmetic.
    for (Preprocess p : {Preprocess::Keras, Preprocess::Torch}) {
      const int k = p == Preprocess::Keras ? 0 : 1;
      const std::string base = k == 0 ? ".keras" : ".torch";
      const std::vector<float> ours = preprocess(in.image, p, 224);
      const NpyArray f64 = load(base + "_f64"), f32 = load(base + "_f32");
      EXPECT_EQ(f64.shape, (std::vector<uint64_t>{1, 3, 224, 224}));
      EXPECT_TRUE(ours == f64.data) << base << ": differs from the double-precision reference";
      ASSERT_EQ(ours.size(), f32.data.size());
      for (size_t i = 0; i < ours.size(); ++i) {
        const float gap = std::fabs(ours[i] - f32.data[i]);
        f32_differences[k] += gap != 0;
        max_f32_gap[k] = std::max(max_f32_gap[k], gap);
      }
      values[k] += ours.size();
    }
  }
  // Float32 step-by-step arithmetic rounds differently. Keras subtracts float32(103.939) etc.,
  // itself up to 3.8e-6 off, from values up to 255: at most that plus one ulp (1.5e-5) apart.
  // torchvision's three float32 roundings on values below 3 stay within a few ulps (2.4e-7).
  EXPECT_LE(max_f32_gap[0], 2e-5f);
  EXPECT_LE(max_f32_gap[1], 1e-6f);
  for (int k = 0; k < 2; ++k)
    std::printf("[ PilParity ] %s: %zu of %zu values differ from the framework's float32 "
                "arithmetic, by at most %g\n",
                k == 0 ? "keras" : "torch", f32_differences[k], values[k],
                double(max_f32_gap[k]));
}

}  // namespace
}  // namespace lockstep::io
