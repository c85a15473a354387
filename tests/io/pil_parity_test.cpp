// Cross-check against the real thing: Pillow resizes the same PNGs the way Keras' load_img and
// torchvision's Resize/CenterCrop do, NumPy float32 repeats the frameworks' arithmetic step by
// step, and lockstep's tensors must match bit for bit. Runs only where python3 has numpy and
// PIL (Debian: python3-numpy, python3-pil); Keras and torch themselves are not needed, their
// steps are spelled out below from their source:
//  - Keras: utils.load_img (PIL NEAREST), img_to_array (np.asarray(img, dtype=float32)), and
//    applications/imagenet_utils.py _preprocess_numpy_input mode "caffe": x[..., ::-1], then
//    x[..., c] -= mean[c] with Python floats: exactly the same NumPy code runs here.
//  - torchvision: Resize (PIL BILINEAR), CenterCrop, to_tensor (.to(float32).div(255)) and
//    normalize (mean, std as float32 tensors; sub_(mean).div_(std)). PyTorch's CPU float32
//    sub and div round once per element as NumPy float32 does, so NumPy stands in for torch.
#include "io/image.hpp"
#include "io/npy.hpp"

#include "test_util.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

namespace lockstep::io {
namespace {

constexpr const char* kScript = R"(import sys, numpy as np
from PIL import Image
d, size, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def save(name, a, hwc=True):  # -> NCHW; float32 tensors must already be float32
    if a.dtype != np.uint8: assert a.dtype == np.float32, (name, a.dtype)
    a = a.transpose(2, 0, 1) if hwc else a
    np.save(f'{d}/{name}.npy', np.ascontiguousarray(a[None]).astype(np.float32))
for n in names:
    im = Image.open(f'{d}/{n}.png').convert('RGB')
    # keras.utils.load_img(target_size=(size, size)), interpolation='nearest'
    k = im if im.size == (size, size) else im.resize((size, size), Image.NEAREST)
    save(n + '.keras_u8', np.asarray(k))
    x = np.asarray(k, dtype=np.float32)  # img_to_array, backend.floatx() = float32
    # imagenet_utils._preprocess_numpy_input(mode='caffe', data_format='channels_last'):
    x = x[..., ::-1]  # 'RGB'->'BGR'
    mean = [103.939, 116.779, 123.68]
    x[..., 0] -= mean[0]
    x[..., 1] -= mean[1]
    x[..., 2] -= mean[2]
    save(n + '.keras', x)
    # torchvision Resize(size * 8 // 7) on a PIL image, then CenterCrop(size)
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size * 8 // 7, int(size * 8 // 7 * long / short)
    nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    r = im if (nw, nh) == im.size else im.resize((nw, nh), Image.BILINEAR)
    save(n + '.torch_resized_u8', np.asarray(r))
    top, left = int(round((nh - size) / 2.0)), int(round((nw - size) / 2.0))
    t = np.asarray(r.crop((left, top, left + size, top + size)))
    # to_tensor: HWC -> CHW, img.to(dtype=torch.float32).div(255)
    y = t.transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    # normalize: torch.as_tensor(mean/std, dtype=float32).view(-1, 1, 1); sub_(mean).div_(std)
    m = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(-1, 1, 1)
    s = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(-1, 1, 1)
    y -= m
    y /= s
    save(n + '.torch', y, hwc=False)
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

  // Per preset (keras, torch): values compared, values that differ in any bit, and values where
  // the old double-then-round-once formula would differ (to show the comparison can fail).
  size_t values[2] = {0, 0}, differences[2] = {0, 0}, double_formula_differs[2] = {0, 0};
  static constexpr double mean_bgr[3] = {103.939, 116.779, 123.68};
  static constexpr double mean[3] = {0.485, 0.456, 0.406}, stddev[3] = {0.229, 0.224, 0.225};
  for (const Input& in : inputs) {
    SCOPED_TRACE(in.name);
    auto load = [&](const std::string& what) {
      return read_npy(dir.path(in.name + what + ".npy"));
    };
    // Pixels after each resize: exact.
    const Image keras_pixels = resize_nearest_pil(in.image, 224, 224);
    EXPECT_EQ(keras_pixels.rgb, as_bytes(load(".keras_u8")));
    const TorchGeometry g = torch_geometry(in.image.width, in.image.height, 224);
    const Image resized = resize_bilinear_pil(in.image, g.resized_width, g.resized_height);
    EXPECT_EQ(resized.rgb, as_bytes(load(".torch_resized_u8")));
    const Image torch_pixels = crop(resized, g.crop_left, g.crop_top, 224, 224);
    // Tensors: bit for bit against the frameworks' float32 steps.
    for (Preprocess p : {Preprocess::Keras, Preprocess::Torch}) {
      const int k = p == Preprocess::Keras ? 0 : 1;
      const std::string base = k == 0 ? ".keras" : ".torch";
      const std::vector<float> ours = preprocess(in.image, p, 224);
      const NpyArray ref = load(base);
      EXPECT_FALSE(ref.converted_from_f64);
      EXPECT_EQ(ref.shape, (std::vector<uint64_t>{1, 3, 224, 224}));
      ASSERT_EQ(ours.size(), ref.data.size());
      EXPECT_EQ(std::memcmp(ours.data(), ref.data.data(), ours.size() * sizeof(float)), 0)
          << base << ": not bit for bit the framework's float32 result";
      const size_t plane = 224 * 224;
      size_t shown = 0;
      for (size_t i = 0; i < ours.size(); ++i) {
        uint32_t a, b;
        std::memcpy(&a, &ours[i], 4);
        std::memcpy(&b, &ref.data[i], 4);
        if (a != b) {
          ++differences[k];
          if (shown++ < 5)
            ADD_FAILURE() << base << " value " << i << ": " << ours[i] << " (0x" << std::hex
                          << a << ") vs numpy " << ref.data[i] << " (0x" << b << ")"
                          << std::dec;
        }
        const size_t c = i / plane, px = i % plane;
        const float old = k == 0 ? float(keras_pixels.rgb[px * 3 + (2 - c)] - mean_bgr[c])
                                 : float((torch_pixels.rgb[px * 3 + c] / 255.0 - mean[c]) /
                                         stddev[c]);
        double_formula_differs[k] += old != ref.data[i];
      }
      values[k] += ours.size();
    }
  }
  for (int k = 0; k < 2; ++k) {
    EXPECT_EQ(differences[k], 0u);
    EXPECT_GT(double_formula_differs[k], 0u) << "the check would not tell the formulas apart";
    std::printf("[ PilParity ] %s: %zu values compared over %zu images, %zu differ from NumPy's "
                "float32 emulation of the framework (double rounded once would differ on %zu)\n",
                k == 0 ? "keras" : "torch", values[k], inputs.size(), differences[k],
                double_formula_differs[k]);
  }
}


// Decoding: Pillow writes (or the script writes by hand, where Pillow cannot) PNG, JPEG, BMP and
// PNM files of many kinds, and Image.open(f).convert('RGB') — what Keras' load_img and
// torchvision's loader do — must give exactly our pixels: libjpeg-turbo is Pillow's JPEG
// decoder too, with the same settings. The one deliberate difference, 16-bit greyscale (Pillow
// opens it as mode I and clips to 255; we scale), is tested in image_test.cpp instead.
constexpr const char* kDecodeScript = R"PY(import sys, io, struct, zlib, numpy as np
from PIL import Image
d = sys.argv[1]
rng = np.random.default_rng(7)
names = []
def save_ref(name, path):
    a = np.asarray(Image.open(path).convert('RGB'))
    np.save(f'{d}/{name}.npy', np.ascontiguousarray(a.transpose(2, 0, 1)[None]).astype(np.float32))
    names.append((name, path))
def photo(w, h):
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([(x * 255 // max(1, w - 1)), (y * 255 // max(1, h - 1)), ((x + y) * 7) % 256], -1).astype(np.uint8)
    noise = rng.integers(0, 40, (h, w, 3), dtype=np.uint8)
    return np.clip(a.astype(int) + noise, 0, 255).astype(np.uint8)
sizes = [(1, 1), (17, 3), (37, 23), (64, 48), (129, 77)]
for w, h in sizes:
    im = Image.fromarray(photo(w, h))
    t = f'{w}x{h}'
    for q in (5, 50, 95):
        for ss in (0, 1, 2):
            p = f'{d}/j_{t}_q{q}_s{ss}.jpg'; im.save(p, quality=q, subsampling=ss); save_ref(f'j_{t}_q{q}_s{ss}', p)
    p = f'{d}/j_{t}_prog.jpg'; im.save(p, quality=80, progressive=True); save_ref(f'j_{t}_prog', p)
    p = f'{d}/j_{t}_opt.jpg'; im.save(p, quality=80, optimize=True); save_ref(f'j_{t}_opt', p)
    p = f'{d}/j_{t}_grey.jpg'; im.convert('L').save(p, quality=70); save_ref(f'j_{t}_grey', p)
    for mode in ('RGB', 'RGBA', 'L', 'LA', 'P', '1'):
        m = im.convert(mode) if mode != 'RGBA' else Image.fromarray(np.dstack([photo(w, h), rng.integers(0, 256, (h, w), dtype=np.uint8)]))
        if mode == 'LA': m = im.convert('LA')
        p = f'{d}/p_{t}_{mode}.png'; m.save(p); save_ref(f'p_{t}_{mode}', p)
    pm = im.convert('P'); pm.info['transparency'] = 3
    p = f'{d}/p_{t}_Ptrns.png'; pm.save(p, transparency=3); save_ref(f'p_{t}_Ptrns', p)
    for mode in ('RGB', 'L', 'P', '1', 'RGBA'):
        m = im.convert(mode)
        p = f'{d}/b_{t}_{mode}.bmp'; m.save(p); save_ref(f'b_{t}_{mode}', p)
    for mode in ('RGB', 'L'):
        p = f'{d}/n_{t}_{mode}.{"ppm" if mode == "RGB" else "pgm"}'; im.convert(mode).save(p); save_ref(f'n_{t}_{mode}', p)
    # Hand-made PNGs that Pillow cannot write: 16-bit RGB(A), Adam7-interlaced RGB.
    def chunk(t, b): return struct.pack('>I', len(b)) + t + b + struct.pack('>I', zlib.crc32(t + b) & 0xffffffff)
    def png(w, h, depth, ctype, rows, interlace=0):
        return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, interlace)) + \
            chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b'')
    a16 = rng.integers(0, 65536, (h, w, 3), dtype=np.uint16)
    rows = b''.join(b'\0' + a16[y].astype('>u2').tobytes() for y in range(h))
    p = f'{d}/p_{t}_rgb16.png'; open(p, 'wb').write(png(w, h, 16, 2, rows)); save_ref(f'p_{t}_rgb16', p)
    a = photo(w, h)
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    data = b''
    for x0, y0, dx, dy in passes:
        sub = a[y0::dy, x0::dx]
        if sub.size == 0: continue
        data += b''.join(b'\0' + sub[y].tobytes() for y in range(sub.shape[0]))
    p = f'{d}/p_{t}_adam7.png'; open(p, 'wb').write(png(w, h, 8, 2, data, 1)); save_ref(f'p_{t}_adam7', p)
# PNM with other maxvals, hand-written.
for maxv in (1, 15, 200, 1000, 65535):
    two = maxv > 255
    for magic, ch in (('P5', 1), ('P6', 3)):
        if magic == 'P5' and two: continue  # Pillow opens 16-bit P5 as mode I and clips: see the C++ test
        s = rng.integers(0, maxv + 1, (5 * 4 * ch,))
        body = b''.join(int(v).to_bytes(2, 'big') for v in s) if two else bytes(int(v) for v in s)
        p = f'{d}/n_max{maxv}_{magic}.pnm'
        open(p, 'wb').write(f'{magic}\n# made by hand\n5 4\n{maxv}\n'.encode() + body); save_ref(f'n_max{maxv}_{magic}', p)
with open(f'{d}/list.txt', 'w') as f:
    for n, p in names: f.write(f'{n} {p}\n')
)PY";

TEST(PilParity, DecodedPixelsMatchPillow) {
  const auto python = test::find_python("numpy, PIL");
  if (!python) GTEST_SKIP() << "no python3 with numpy and PIL (Debian: python3-numpy, python3-pil)";
  test::ScratchDir dir;
  test::write_text(dir.path("decode.py"), kDecodeScript);
  ASSERT_TRUE(test::run_python(*python, dir.path("decode.py"), dir.path("")));
  std::ifstream list(dir.path("list.txt"));
  std::string name, path;
  std::map<char, size_t> files, pixels;
  while (list >> name >> path) {
    SCOPED_TRACE(name);
    const Image ours = load_image(path);
    const NpyArray ref = read_npy(dir.path(name + ".npy"));
    ASSERT_EQ(ref.shape.size(), 4u);
    EXPECT_EQ(ours.width, ref.shape[3]);
    EXPECT_EQ(ours.height, ref.shape[2]);
    const std::vector<uint8_t> theirs = as_bytes(ref);
    ASSERT_EQ(ours.rgb.size(), theirs.size());
    size_t differ = 0, first = 0;
    for (size_t i = 0; i < theirs.size(); ++i)
      if (ours.rgb[i] != theirs[i] && differ++ == 0) first = i;
    EXPECT_EQ(differ, 0u) << "first at byte " << first << ": ours " << int(ours.rgb[first]) << ", Pillow "
                          << int(theirs[first]);
    files[name[0]]++;
    pixels[name[0]] += theirs.size() / 3;
  }
  for (const auto& [kind, n] : files)
    std::printf("[ PilParity ] %s: %zu files, %zu pixels, decoded exactly as Pillow decodes them\n",
                kind == 'j' ? "JPEG" : kind == 'p' ? "PNG" : kind == 'b' ? "BMP" : "PNM", n, pixels[kind]);
  EXPECT_GE(files['j'], 40u);
  EXPECT_GE(files['p'], 40u);
  EXPECT_GE(files['b'], 20u);
  EXPECT_GE(files['n'], 15u);
}

}  // namespace
}  // namespace lockstep::io
