#include "io/image.hpp"

#include "test_util.hpp"

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

// 2x2 image to 4x4: every source pixel becomes a 2x2 block; channels come out B, G, R with
// the caffe means subtracted and no scaling.
TEST(KerasPreprocess, TinyImageExactValues) {
  const Image im{2, 2, {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120}};
  const std::vector<float> t = preprocess(im, Preprocess::Keras, 4);
  ASSERT_EQ(t.size(), 3u * 16u);
  const double mean_bgr[3] = {103.939, 116.779, 123.68};
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) {
        const int src = (y / 2) * 2 + (x / 2);
        const uint8_t v = im.rgb[src * 3 + (2 - c)];  // BGR: channel 0 is blue
        EXPECT_EQ(t[c * 16 + y * 4 + x], float(double(v) - mean_bgr[c])) << c << y << x;
      }
  // The same by hand for three entries: top-left B = 30 - 103.939, G = 20 - 116.779,
  // bottom-right R = 100 - 123.68.
  EXPECT_FLOAT_EQ(t[0], -73.939f);
  EXPECT_FLOAT_EQ(t[16], -96.779f);
  EXPECT_FLOAT_EQ(t[32 + 15], -23.68f);
}

TEST(KerasPreprocess, SameSizeIsNotResampled) {
  const Image im = generate_test_image(8, 8, 9);
  const std::vector<float> t = preprocess(im, Preprocess::Keras, 8);
  for (size_t i = 0; i < 64; ++i) EXPECT_EQ(t[i], float(double(im.rgb[i * 3 + 2]) - 103.939));
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
TEST(TorchPreprocess, ConstantColourImage) {
  const Image im{300, 200, std::vector<uint8_t>(300 * 200 * 3)};
  Image c = im;
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

  const std::vector<float> t = preprocess(c, Preprocess::Torch);
  ASSERT_EQ(t.size(), 3u * 224u * 224u);
  const float expect[3] = {float((200 / 255.0 - 0.485) / 0.229),
                           float((100 / 255.0 - 0.456) / 0.224),
                           float((50 / 255.0 - 0.406) / 0.225)};
  for (int ch = 0; ch < 3; ++ch)
    for (size_t i = 0; i < 224u * 224u; ++i) ASSERT_EQ(t[ch * 224 * 224 + i], expect[ch]) << ch;
  EXPECT_NEAR(expect[0], 1.30705, 1e-5);  // by hand: (0.784314 - 0.485) / 0.229
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
  EXPECT_EQ(t[0], float((1.0 - 0.485) / 0.229));
  EXPECT_EQ(t[224 * 224 - 1], float((51 / 255.0 - 0.485) / 0.229));
  for (size_t i = 1; i + 1 < 224u * 224u; ++i) ASSERT_EQ(t[i], float(-0.485 / 0.229)) << i;
}

TEST(Preprocess, RejectsEmptyImage) {
  EXPECT_THROW(preprocess(Image{}, Preprocess::Keras), std::invalid_argument);
  EXPECT_THROW(preprocess(Image{2, 2, {1, 2, 3}}, Preprocess::Torch), std::invalid_argument);
}

}  // namespace
}  // namespace lockstep::io
