#include "io/image.hpp"

#include "test_util.hpp"

#include <algorithm>
#include <cstring>

namespace lockstep::io {
namespace {

// A one-row or one-column image with the same value in R, G and B.
Image grey_line(std::vector<uint8_t> values, bool vertical = false) {
  Image im;
  im.width = vertical ? 1 : uint32_t(values.size());
  im.height = vertical ? uint32_t(values.size()) : 1;
  for (uint8_t v : values) im.rgb.insert(im.rgb.end(), {v, v, v});
  return im;
}

std::vector<uint8_t> red_channel(const Image& im) {
  std::vector<uint8_t> r;
  for (size_t i = 0; i < im.rgb.size(); i += 3) r.push_back(im.rgb[i]);
  return r;
}

TEST(Preprocess, ParseNames) {
  EXPECT_EQ(parse_preprocess("keras"), Preprocess::Keras);
  EXPECT_EQ(parse_preprocess("torch"), Preprocess::Torch);
  EXPECT_EQ(preprocess_name(Preprocess::Torch), "torch");
  try {
    parse_preprocess("caffe");
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'caffe'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("keras, torch"), std::string::npos) << e.what();
  }
}

// PIL NEAREST picks source floor((x + 0.5) * in / out), up to the rounding of a running sum.
TEST(KerasResize, NearestIndexMapping) {
  // 2 -> 4: sources 0.25, 0.75, 1.25, 1.75 -> 0, 0, 1, 1.
  EXPECT_EQ(red_channel(resize_nearest_pil(grey_line({10, 20}), 4, 1)),
            (std::vector<uint8_t>{10, 10, 20, 20}));
  // 3 -> 2: 0.75, 2.25 -> 0, 2.   5 -> 2: 1.25, 3.75 -> 1, 3.
  EXPECT_EQ(red_channel(resize_nearest_pil(grey_line({1, 2, 3}), 2, 1)),
            (std::vector<uint8_t>{1, 3}));
  EXPECT_EQ(red_channel(resize_nearest_pil(grey_line({1, 2, 3, 4, 5}), 2, 1)),
            (std::vector<uint8_t>{2, 4}));
  // PIL adds the step in double instead of evaluating that formula: 128 -> 160 steps by 0.8
  // from 0.4, and at x = 7 the running sum is 5.999999999999999, so PIL takes source 5 where
  // floor(7.5 * 0.8) = 6. Pillow 9.4 gives 0 1 2 2 3 4 5 5 6 7.
  std::vector<uint8_t> ramp(128);
  for (int i = 0; i < 128; ++i) ramp[i] = uint8_t(i);
  const std::vector<uint8_t> r = red_channel(resize_nearest_pil(grey_line(ramp), 160, 1));
  EXPECT_EQ(std::vector<uint8_t>(r.begin(), r.begin() + 10),
            (std::vector<uint8_t>{0, 1, 2, 2, 3, 4, 5, 5, 6, 7}));
  // 3 -> 7 vertically: (y + 0.5) * 3 / 7 = 0.21, 0.64, 1.07, 1.5, 1.93, 2.36, 2.79.
  EXPECT_EQ(red_channel(resize_nearest_pil(grey_line({7, 8, 9}, true), 1, 7)),
            (std::vector<uint8_t>{7, 7, 8, 8, 8, 9, 9}));
}

// The frameworks' float32 constants: each Python float (a double) cast to float32, as NumPy
// and torch.as_tensor do. Exact decimal values of those floats.
TEST(Preprocess, Float32ConstantsAsTheFrameworksRoundThem) {
  EXPECT_EQ(float(103.939), 103.93900299072265625f);
  EXPECT_EQ(float(116.779), 116.77899932861328125f);
  EXPECT_EQ(float(123.68), 123.68000030517578125f);
  EXPECT_EQ(float(0.485), 0.48500001430511474609375f);
  EXPECT_EQ(float(0.229), 0.2290000021457672119140625f);
  EXPECT_EQ(float(0.224), 0.2240000069141387939453125f);
  EXPECT_EQ(float(0.225), 0.2249999940395355224609375f);
}

// 2x2 image to 4x4: every source pixel becomes a 2x2 block; channels come out B, G, R with
// the caffe means subtracted and no scaling. Keras subtracts in float32: v - float32(mean).
// For an integer v with |v - mean| < 128 that difference is a multiple of 2^-17 below 2^7,
// so float32 holds it exactly and the expected values are plain decimal subtractions of the
// constants above. Double arithmetic rounded once gives a different float for some of them
// (64 - 103.939: -39.93900299072265625 in float32 steps, -39.938999176025390625 in double
// rounded once).
TEST(KerasPreprocess, TinyImageExactFloat32Values) {
  // Pixels (R, G, B): (10, 20, 64), (40, 110, 60), (120, 80, 90), (100, 200, 120).
  const Image im{2, 2, {10, 20, 64, 40, 110, 60, 120, 80, 90, 100, 200, 120}};
  const std::vector<float> t = preprocess(im, Preprocess::Keras, 4);
  ASSERT_EQ(t.size(), 3u * 16u);
  // expect[c][src]: channel c in BGR order, source pixel src.
  const float expect[3][4] = {
      {64 - 103.93900299072265625f, 60 - 103.93900299072265625f, 90 - 103.93900299072265625f,
       120 - 103.93900299072265625f},
      {20 - 116.77899932861328125f, 110 - 116.77899932861328125f, 80 - 116.77899932861328125f,
       200 - 116.77899932861328125f},
      {10 - 123.68000030517578125f, 40 - 123.68000030517578125f, 120 - 123.68000030517578125f,
       100 - 123.68000030517578125f}};
  // The same written out (each subtraction above is exact, see the comment).
  EXPECT_EQ(expect[0][0], -39.93900299072265625f);
  EXPECT_EQ(expect[1][1], -6.77899932861328125f);
  EXPECT_EQ(expect[1][3], 83.22100067138671875f);
  EXPECT_EQ(expect[2][2], -3.68000030517578125f);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) {
        const int src = (y / 2) * 2 + (x / 2);
        EXPECT_EQ(t[c * 16 + y * 4 + x], expect[c][src]) << c << y << x;
      }
  // These three would come out one float lower or higher with double arithmetic rounded once,
  // which is what the frameworks do not do.
  EXPECT_NE(expect[0][0], float(64 - 103.939));
  EXPECT_NE(expect[1][1], float(110 - 116.779));
  EXPECT_NE(expect[2][2], float(120 - 123.68));
}

TEST(KerasPreprocess, SameSizeIsNotResampled) {
  const Image im = generate_test_image(8, 8, 9);
  const std::vector<float> t = preprocess(im, Preprocess::Keras, 8);
  for (size_t i = 0; i < 64; ++i)
    EXPECT_EQ(t[i], float(im.rgb[i * 3 + 2]) - 103.93900299072265625f);
}

TEST(TorchGeometry, ShorterSideTo256ThenCentreCrop) {
  // 500x375: long side int(256 * 500 / 375) = 341; left round(117 / 2 = 58.5) = 58 (to even).
  TorchGeometry g = torch_geometry(500, 375, 224);
  EXPECT_EQ(g.resized_width, 341u);
  EXPECT_EQ(g.resized_height, 256u);
  EXPECT_EQ(g.crop_left, 58u);
  EXPECT_EQ(g.crop_top, 16u);
  // Portrait, and Python's round-half-to-even: 16.5 -> 16, 17.5 -> 18.
  g = torch_geometry(256, 257, 224);
  EXPECT_EQ(g.resized_width, 256u);
  EXPECT_EQ(g.resized_height, 257u);
  EXPECT_EQ(g.crop_top, 16u);
  g = torch_geometry(259, 256, 224);
  EXPECT_EQ(g.crop_left, 18u);
  // Upscaling a small image, and other model sizes keep the 0.875 crop ratio.
  g = torch_geometry(10, 20, 224);
  EXPECT_EQ(g.resized_width, 256u);
  EXPECT_EQ(g.resized_height, 512u);
  EXPECT_EQ(g.crop_top, 144u);
  g = torch_geometry(1000, 1000, 112);
  EXPECT_EQ(g.resized_width, 128u);
  EXPECT_EQ(g.crop_left, 8u);
}

// Shrinking 4 -> 2: scale 2 stretches the triangle filter to support 2, so output 0 (centre
// 1.0) weighs inputs 0, 1, 2 by 0.75, 0.75, 0.25 -> 3/7, 3/7, 1/7, and output 1 (centre 3.0)
// weighs inputs 1, 2, 3 by 1/7, 3/7, 3/7. (3*10 + 3*20 + 200) / 7 = 41.43 -> 41;
// (20 + 3*200 + 3*255) / 7 = 197.86 -> 198.
TEST(TorchResize, HandComputedAntialiasedShrink) {
  EXPECT_EQ(red_channel(resize_bilinear_pil(grey_line({10, 20, 200, 255}), 2, 1)),
            (std::vector<uint8_t>{41, 198}));
}

// Growing 2 -> 4: plain bilinear with half-pixel centres, edges clamped:
// 0, 0.75*0 + 0.25*255 = 63.75 -> 64, 191.25 -> 191, 255.
TEST(TorchResize, HandComputedUpscale) {
  EXPECT_EQ(red_channel(resize_bilinear_pil(grey_line({0, 255}), 4, 1)),
            (std::vector<uint8_t>{0, 64, 191, 255}));
  EXPECT_EQ(red_channel(resize_bilinear_pil(grey_line({0, 255}, true), 1, 4)),
            (std::vector<uint8_t>{0, 64, 191, 255}));
}

// PIL rounds to uint8 after the horizontal pass: [[1, 2], [3, 2]] -> rows 1.5 -> 2 and
// 2.5 -> 3 -> column 2.5 -> 3, where the exact mean (2.0) would give 2.
TEST(TorchResize, RoundsBetweenPasses) {
  const Image im{2, 2, {1, 1, 1, 2, 2, 2, 3, 3, 3, 2, 2, 2}};
  EXPECT_EQ(resize_bilinear_pil(im, 1, 1).rgb, (std::vector<uint8_t>{3, 3, 3}));
}

// A constant image stays exactly constant through the resize, so every output value is the
// normalised constant: checks crop size, channel order (RGB) and normalisation.
// torchvision rounds to float32 after each of ToTensor's /255, Normalize's -mean and /std;
// every intermediate is written out below (as NumPy float32 computes it). All three outputs
// differ in the last bit from the same formula evaluated in double and rounded once.
TEST(TorchPreprocess, ConstantColourImageExactFloat32Steps) {
  Image c{300, 200, std::vector<uint8_t>(300 * 200 * 3)};
  for (size_t i = 0; i < c.rgb.size(); i += 3) {
    c.rgb[i] = 200;
    c.rgb[i + 1] = 100;
    c.rgb[i + 2] = 50;
  }
  const TorchGeometry g = torch_geometry(300, 200, 224);
  EXPECT_EQ(g.resized_width, 384u);
  EXPECT_EQ(g.resized_height, 256u);
  EXPECT_EQ(g.crop_left, 80u);
  EXPECT_EQ(g.crop_top, 16u);
  const Image resized = resize_bilinear_pil(c, 384, 256);
  for (size_t i = 0; i < resized.rgb.size(); i += 3)
    ASSERT_EQ((std::vector<uint8_t>{resized.rgb[i], resized.rgb[i + 1], resized.rgb[i + 2]}),
              (std::vector<uint8_t>{200, 100, 50}));

  // 200/255 = 0.78431372549..., nearest float 0x1.919192p-1; minus float(0.485) is
  // 0x1.327f4cp-2 (exact); divided by float(0.229) rounds to 0x1.4e9a9ep+0 = 1.30704677...
  const float scaled[3] = {0x1.919192p-1f, 0x1.919192p-2f, 0x1.919192p-3f};
  const float centred[3] = {0x1.327f4cp-2f, -0x1.05806p-4f, -0x1.adeb5ap-3f};
  const float expect[3] = {0x1.4e9a9ep+0f, -0x1.23dab4p-2f, -0x1.ddb02cp-1f};
  const float mean[3] = {0.48500001430511474609375f, 0.4560000002384185791015625f,
                         0.4059999883174896240234375f};
  const float stddev[3] = {0.2290000021457672119140625f, 0.2240000069141387939453125f,
                           0.2249999940395355224609375f};
  const uint8_t v[3] = {200, 100, 50};
  for (int ch = 0; ch < 3; ++ch) {  // the literals are the float32 steps
    EXPECT_EQ(float(v[ch]) / 255.0f, scaled[ch]) << ch;
    EXPECT_EQ(scaled[ch] - mean[ch], centred[ch]) << ch;
    EXPECT_EQ(centred[ch] / stddev[ch], expect[ch]) << ch;
  }
  const double mean64[3] = {0.485, 0.456, 0.406}, std64[3] = {0.229, 0.224, 0.225};
  for (int ch = 0; ch < 3; ++ch)
    EXPECT_NE(expect[ch], float((v[ch] / 255.0 - mean64[ch]) / std64[ch])) << ch;

  const std::vector<float> t = preprocess(c, Preprocess::Torch);
  ASSERT_EQ(t.size(), 3u * 224u * 224u);
  for (int ch = 0; ch < 3; ++ch)
    for (size_t i = 0; i < 224u * 224u; ++i) ASSERT_EQ(t[ch * 224 * 224 + i], expect[ch]) << ch;
  EXPECT_NEAR(expect[0], 1.30705, 1e-5);   // by hand: (0.784314 - 0.485) / 0.229
  EXPECT_NEAR(expect[2], -0.93299, 1e-5);  // (0.196078 - 0.406) / 0.225
}

// The crop really takes the centre: mark the resized image's crop corners.
TEST(TorchPreprocess, CropIsCentred) {
  // 256 x 300 (portrait): no horizontal resize, no vertical resize either (256 stays 256,
  // int(256 * 300 / 256) = 300), so pixels pass unchanged; crop top = 38, left = 16.
  Image im{256, 300, std::vector<uint8_t>(256 * 300 * 3, 0)};
  auto set = [&](uint32_t x, uint32_t y, uint8_t v) { im.rgb[(size_t(y) * 256 + x) * 3] = v; };
  set(16, 38, 255);             // top-left of the crop
  set(16 + 223, 38 + 223, 51);  // bottom-right of the crop
  set(15, 38, 99);              // just outside
  const std::vector<float> t = preprocess(im, Preprocess::Torch);
  // 255/255 = 1: (1 - float(0.485)) / float(0.229). 51/255 rounds to float(0.2) =
  // 0x1.99999ap-3, and the result is 0x1.3e9a48p+0 in float32 steps (double: ...46p+0).
  // 0: -float(0.485) / float(0.229).
  EXPECT_EQ(t[0], 0x1.1fdc3ap+1f);
  EXPECT_EQ(t[224 * 224 - 1], -0x1.3e9a48p+0f);
  for (size_t i = 1; i + 1 < 224u * 224u; ++i) ASSERT_EQ(t[i], -0x1.0f177ap+1f) << i;
}

// Every uint8 value in every channel through both presets, with no resampling (a 224x224
// Keras input; a 256x256 torch input, only centre-cropped), against FNV-1a-64 hashes of the
// little-endian float32 bytes of the NCHW tensors computed by NumPy float32 with the
// frameworks' steps (PilParity's emulation; generator:
//   y, x = np.mgrid[0:h, 0:w]; ch c = (x * 7 + y * 13 + c * 85) & 255, uint8
//   keras: np.asarray(img, np.float32)[..., ::-1], then x[..., c] -= mean[c]
//   torch: crop [16:240, 16:240], CHW .astype(float32) / np.float32(255),
//          -= np.array(mean, float32)[:, None, None], /= np.array(std, float32)[:, None, None]).
// The double-then-round-once formula hashes to 0x2fe4a3677fe9d0b9 (keras, 36639 values
// differ) and 0x85bb498abfb58c6a (torch, 96225 differ). Needs no Python.
Image value_pattern(uint32_t w, uint32_t h) {
  Image im{w, h, std::vector<uint8_t>(size_t(w) * h * 3)};
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x)
      for (uint32_t c = 0; c < 3; ++c)
        im.rgb[(size_t(y) * w + x) * 3 + c] = uint8_t((x * 7 + y * 13 + c * 85) & 255);
  return im;
}

uint64_t fnv1a_float_bytes(const std::vector<float>& v) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (float f : v) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    for (int b = 0; b < 4; ++b) h = (h ^ ((bits >> (8 * b)) & 0xff)) * 0x100000001b3ull;
  }
  return h;
}

TEST(Preprocess, AllByteValuesMatchNumpyFloat32Emulation) {
  EXPECT_EQ(fnv1a_float_bytes(preprocess(value_pattern(224, 224), Preprocess::Keras)),
            0xb42e5edeea002e79ull);
  EXPECT_EQ(fnv1a_float_bytes(preprocess(value_pattern(256, 256), Preprocess::Torch)),
            0xa2135cb9d43f7a8cull);
}

// One step switched at a time: each result is what the changed step alone predicts.
TEST(PreprocessSteps, EachStepSwitchesAlone) {
  const Image im = value_pattern(40, 30);
  const uint32_t size = 16;
  const size_t plane = size_t(size) * size;
  for (Preprocess preset : {Preprocess::Keras, Preprocess::Torch}) {
    const PreprocessSteps own = preset_steps(preset);
    EXPECT_EQ(describe(own), preprocess_name(preset));
    const std::vector<float> base = preprocess(im, preset, size);
    EXPECT_EQ(preprocess(im, own, size), base) << "the preset's own steps are the preset";

    // Channel order: the planes come from the other source channels, the per-position
    // constants stay. Undo the normalisation of each plane and compare the pixels.
    PreprocessSteps swapped = own;
    swapped.channels = own.channels == Channels::Rgb ? Channels::Bgr : Channels::Rgb;
    const std::vector<float> sw = preprocess(im, swapped, size);
    const PreprocessSteps other_norm{preset, own.resize, own.channels,
                                     own.normalize == Normalize::Caffe ? Normalize::Torch : Normalize::Caffe};
    EXPECT_NE(sw, base);
    // Caffe: out = v - mean[c], so out + mean[c] gives the pixel; the swapped planes hold
    // plane 0 <-> plane 2 of the same pixels.
    if (own.normalize == Normalize::Caffe) {
      const float mean[3] = {float(103.939), float(116.779), float(123.68)};
      for (size_t i = 0; i < plane; ++i) {
        EXPECT_EQ(sw[0 * plane + i] + mean[0], base[2 * plane + i] + mean[2]) << i;
        EXPECT_EQ(sw[1 * plane + i], base[1 * plane + i]) << i;
        EXPECT_EQ(sw[2 * plane + i] + mean[2], base[0 * plane + i] + mean[0]) << i;
      }
    }
    EXPECT_EQ(describe(swapped), std::string(preprocess_name(preset)) +
                                     (swapped.channels == Channels::Rgb ? ",channels=rgb" : ",channels=bgr"));

    // Normalisation: torch-normalised values span about +-2.6, caffe ones about +-150.
    const std::vector<float> nn = preprocess(im, other_norm, size);
    float lo = 0, hi = 0;
    for (float v : nn) lo = std::min(lo, v), hi = std::max(hi, v);
    if (other_norm.normalize == Normalize::Torch) {
      EXPECT_GT(lo, -2.2f);
      EXPECT_LT(hi, 2.7f);
    } else {
      EXPECT_LT(lo, -100.0f);
      EXPECT_GT(hi, 100.0f);
    }

    // Resize filter: the geometry stays the preset's; only the resampler changes.
    PreprocessSteps filter = own;
    filter.resize = own.resize == Resize::Nearest ? Resize::Bilinear : Resize::Nearest;
    const std::vector<float> fr = preprocess(im, filter, size);
    EXPECT_NE(fr, base);
    if (preset == Preprocess::Keras) {
      // Keras squashes the whole image to size x size: the bilinear result is the preset's
      // normalisation of PIL's bilinear resize (a same-size resize then does nothing).
      EXPECT_EQ(fr, preprocess(resize_bilinear_pil(im, size, size), own, size));
    }
  }
  EXPECT_EQ(parse_resize("bilinear"), Resize::Bilinear);
  EXPECT_EQ(parse_channels("bgr"), Channels::Bgr);
  EXPECT_EQ(parse_normalize("caffe"), Normalize::Caffe);
  EXPECT_THROW(parse_resize("bicubic"), std::invalid_argument);
  EXPECT_THROW(parse_channels("rbg"), std::invalid_argument);
  EXPECT_THROW(parse_normalize("imagenet"), std::invalid_argument);
}

TEST(Preprocess, RejectsEmptyImage) {
  EXPECT_THROW(preprocess(Image{}, Preprocess::Keras), std::invalid_argument);
  EXPECT_THROW(preprocess(Image{2, 2, {1, 2, 3}}, Preprocess::Torch), std::invalid_argument);
}

}  // namespace
}  // namespace lockstep::io
