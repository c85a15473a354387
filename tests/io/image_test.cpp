#include "io/image.hpp"

#include "test_util.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

namespace lockstep::io {
namespace {

using test::ScratchDir;

Image pattern(uint32_t w, uint32_t h) {
  Image im{w, h, std::vector<uint8_t>(size_t(w) * h * 3)};
  for (size_t i = 0; i < im.rgb.size(); ++i) im.rgb[i] = uint8_t(i * 37 + 11);
  return im;
}

void le32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = uint8_t(v >> (8 * i));
}

// A BMP built byte by byte: BITMAPFILEHEADER + BITMAPINFOHEADER, BI_RGB, rows bottom-up,
// pixels stored B, G, R (and A for 32 bits), 24-bit rows padded to 4 bytes.
std::vector<uint8_t> bmp_bytes(uint32_t w, uint32_t h, int bits, const std::vector<uint8_t>& rgba) {
  const uint32_t bpp = uint32_t(bits / 8), stride = (w * bpp + 3) & ~3u;
  std::vector<uint8_t> b(54 + size_t(stride) * h, 0);
  b[0] = 'B';
  b[1] = 'M';
  le32(b, 2, uint32_t(b.size()));
  le32(b, 10, 54);
  le32(b, 14, 40);
  le32(b, 18, w);
  le32(b, 22, h);
  b[26] = 1;
  b[28] = uint8_t(bits);
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x) {
      const uint8_t* p = &rgba[(size_t(y) * w + x) * 4];
      uint8_t* q = &b[54 + size_t(h - 1 - y) * stride + size_t(x) * bpp];
      q[0] = p[2];
      q[1] = p[1];
      q[2] = p[0];
      if (bpp == 4) q[3] = p[3];
    }
  return b;
}

TEST(ImageDecode, PngRoundTripKeepsEveryPixel) {
  ScratchDir dir;
  const Image im = pattern(5, 3);
  write_png(dir.path("p.png"), im);
  const Image back = load_image(dir.path("p.png"));
  EXPECT_EQ(back.width, 5u);
  EXPECT_EQ(back.height, 3u);
  EXPECT_EQ(back.rgb, im.rgb);
}

TEST(ImageDecode, BmpRoundTripKeepsEveryPixel) {
  ScratchDir dir;
  const Image im = pattern(7, 2);  // 21-byte rows: exercises row padding
  write_bmp(dir.path("p.bmp"), im);
  const Image back = load_image(dir.path("p.bmp"));
  EXPECT_EQ(back.width, 7u);
  EXPECT_EQ(back.height, 2u);
  EXPECT_EQ(back.rgb, im.rgb);
}

TEST(ImageDecode, HandMadeBmpPixelsInOrder) {
  ScratchDir dir;
  // Top row red, green; bottom row blue, white.
  const std::vector<uint8_t> rgba = {255, 0, 0, 255, 0, 255, 0, 255,
                                     0, 0, 255, 255, 255, 255, 255, 255};
  test::write_bytes(dir.path("h.bmp"), bmp_bytes(2, 2, 24, rgba));
  const Image im = load_image(dir.path("h.bmp"));
  ASSERT_EQ(im.width, 2u);
  ASSERT_EQ(im.height, 2u);
  EXPECT_EQ(im.rgb, (std::vector<uint8_t>{255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255}));
}

TEST(ImageDecode, AlphaIsDropped) {
  ScratchDir dir;
  // 32-bit BMP with alpha 0 and 128: the colour comes back unchanged, not blended.
  const std::vector<uint8_t> rgba = {10, 20, 30, 0, 200, 150, 100, 128};
  test::write_bytes(dir.path("a.bmp"), bmp_bytes(2, 1, 32, rgba));
  const Image im = load_image(dir.path("a.bmp"));
  EXPECT_EQ(im.rgb, (std::vector<uint8_t>{10, 20, 30, 200, 150, 100}));
}

TEST(ImageDecode, GreyIsExpanded) {
  ScratchDir dir;
  const std::string pgm = "P5\n3 1\n255\n";
  std::vector<uint8_t> b(pgm.begin(), pgm.end());
  b.insert(b.end(), {0, 77, 255});
  test::write_bytes(dir.path("g.pgm"), b);
  const Image im = load_image(dir.path("g.pgm"));
  EXPECT_EQ(im.rgb, (std::vector<uint8_t>{0, 0, 0, 77, 77, 77, 255, 255, 255}));
}

TEST(ImageErrors, MissingFile) {
  ScratchDir dir;
  EXPECT_ERROR_MENTIONS(load_image(dir.path("missing.png")), "missing.png: ", "cannot open");
}

TEST(ImageErrors, EmptyFile) {
  ScratchDir dir;
  test::write_bytes(dir.path("empty.png"), {});
  EXPECT_ERROR_MENTIONS(load_image(dir.path("empty.png")), "empty.png: ", "empty");
}

TEST(ImageErrors, TextFile) {
  ScratchDir dir;
  test::write_text(dir.path("notes.txt"), "hello, this is not an image\n");
  EXPECT_ERROR_MENTIONS(load_image(dir.path("notes.txt")), "notes.txt: ",
                        "not a recognised image");
}

TEST(ImageErrors, TruncatedPng) {
  ScratchDir dir;
  write_png(dir.path("full.png"), generate_test_image(64, 64, 3));
  const std::vector<uint8_t> full = test::read_bytes(dir.path("full.png"));
  // Cut inside the signature, inside IHDR, and at several points of the pixel data.
  for (size_t keep : {size_t(5), size_t(20), size_t(40), full.size() / 2, full.size() - 20}) {
    SCOPED_TRACE(keep);
    test::write_bytes(dir.path("cut.png"), std::vector<uint8_t>(full.begin(), full.begin() + keep));
    EXPECT_ERROR_MENTIONS(load_image(dir.path("cut.png")), "cut.png: ");
  }
}

// stb itself would decode these with the missing pixels as zeros.
TEST(ImageErrors, TruncatedBmpAndPnm) {
  ScratchDir dir;
  write_bmp(dir.path("full.bmp"), generate_test_image(16, 16, 4));
  const std::vector<uint8_t> b = test::read_bytes(dir.path("full.bmp"));
  ASSERT_EQ(b.size(), 54u + 16u * 16u * 3u);
  test::write_bytes(dir.path("cut.bmp"), std::vector<uint8_t>(b.begin(), b.end() - 100));
  EXPECT_ERROR_MENTIONS(load_image(dir.path("cut.bmp")), "cut.bmp: ", "truncated BMP");

  test::write_text(dir.path("cut.ppm"), "P6\n# comment\n4 4\n255\n" + std::string(47, 'x'));
  EXPECT_ERROR_MENTIONS(load_image(dir.path("cut.ppm")), "cut.ppm: ", "truncated PNM");
  test::write_text(dir.path("full.ppm"), "P6\n# comment\n4 4\n255\n" + std::string(48, 'x'));
  EXPECT_EQ(load_image(dir.path("full.ppm")).rgb, std::vector<uint8_t>(48, 'x'));
}

TEST(ImageErrors, ZeroSizedImage) {
  ScratchDir dir;
  test::write_bytes(dir.path("zero.bmp"), bmp_bytes(0, 0, 24, {}));
  EXPECT_ERROR_MENTIONS(load_image(dir.path("zero.bmp")), "zero.bmp: ");
  test::write_text(dir.path("zero.ppm"), "P6\n0 4\n255\n");
  EXPECT_ERROR_MENTIONS(load_image(dir.path("zero.ppm")), "zero.ppm: ");
}

TEST(ImageErrors, AbsurdHeaderSizeRefusedBeforeDecoding) {
  ScratchDir dir;
  // Headers claiming 20000 x 20000 pixels in a tiny file.
  std::vector<uint8_t> b = bmp_bytes(1, 1, 24, {1, 2, 3, 255});
  le32(b, 18, 20000);
  le32(b, 22, 20000);
  test::write_bytes(dir.path("huge.bmp"), b);
  EXPECT_ERROR_MENTIONS(load_image(dir.path("huge.bmp")), "huge.bmp: ", "20000x20000", "16384");
  test::write_text(dir.path("huge.ppm"), "P6\n100 20000\n255\n");
  EXPECT_ERROR_MENTIONS(load_image(dir.path("huge.ppm")), "huge.ppm: ", "100x20000", "16384");
}

// Mutated PNG, BMP and PPM files: decoded or rejected with a runtime_error naming the file,
// never a crash or another exception. (Best run under AddressSanitizer.)
TEST(ImageErrors, RandomCorruptionOnlyThrowsRuntimeError) {
  ScratchDir dir;
  const Image im = generate_test_image(12, 9, 5);
  write_png(dir.path("a.png"), im);
  write_bmp(dir.path("a.bmp"), im);
  const std::string ppm = "P6\n12 9\n255\n" + std::string(im.rgb.begin(), im.rgb.end());
  const std::vector<std::vector<uint8_t>> files = {test::read_bytes(dir.path("a.png")),
                                                   test::read_bytes(dir.path("a.bmp")),
                                                   {ppm.begin(), ppm.end()}};
  uint64_t s = 99;
  auto next = [&] { return (s = s * 6364136223846793005ull + 1442695040888963407ull) >> 33; };
  for (const auto& good : files)
    for (int iter = 0; iter < 1500; ++iter) {
      std::vector<uint8_t> b = good;
      for (int e = 1 + int(next() % 3); e > 0 && !b.empty(); --e) {
        const size_t at = next() % std::min<size_t>(b.size(), 80);  // mostly headers
        if (next() % 5 == 0)
          b.resize(next() % b.size());
        else
          b[at] = uint8_t(next());
      }
      try {
        const Image out = decode_image(b, "fuzz.img");
        EXPECT_EQ(out.rgb.size(), size_t(out.width) * out.height * 3);
      } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("fuzz.img: ", 0), 0u) << e.what();
      }
    }
}

// ---- BMP and PNM: the project's own readers, value by value --------------------------------

// A BMP with a BITMAPINFOHEADER and optional bit fields / palette; rows given top to bottom,
// already packed (the builder pads them and stores them bottom-up, or top-down with height < 0).
std::vector<uint8_t> bmp_raw(int32_t w, int32_t h, int bits, uint32_t compression, const std::vector<uint32_t>& masks,
                             const std::vector<uint32_t>& palette, const std::vector<std::vector<uint8_t>>& rows) {
  const uint32_t stride = (uint32_t(w) * bits + 31) / 32 * 4;
  const uint32_t offset = 54 + 4 * uint32_t(masks.size() + palette.size());
  std::vector<uint8_t> b(offset + stride * rows.size(), 0);
  b[0] = 'B', b[1] = 'M';
  le32(b, 2, uint32_t(b.size()));
  le32(b, 10, offset);
  le32(b, 14, 40);
  le32(b, 18, uint32_t(w));
  le32(b, 22, uint32_t(h));
  b[26] = 1;
  b[28] = uint8_t(bits);
  le32(b, 30, compression);
  le32(b, 46, uint32_t(palette.size()));
  size_t at = 54;
  for (uint32_t m : masks) le32(b, at, m), at += 4;
  for (uint32_t c : palette) le32(b, at, c), at += 4;  // 0x00RRGGBB is stored B, G, R, 0
  for (size_t y = 0; y < rows.size(); ++y) {
    const size_t dst = offset + stride * (h < 0 ? y : rows.size() - 1 - y);
    std::copy(rows[y].begin(), rows[y].end(), b.begin() + long(dst));
  }
  return b;
}

std::vector<uint8_t> u16le(const std::vector<uint32_t>& v) {
  std::vector<uint8_t> out;
  for (uint32_t x : v) out.push_back(uint8_t(x)), out.push_back(uint8_t(x >> 8));
  return out;
}

// Channel `c` of every pixel.
std::vector<int> channel(const Image& im, int c) {
  std::vector<int> out;
  for (size_t i = size_t(c); i < im.rgb.size(); i += 3) out.push_back(im.rgb[i]);
  return out;
}

TEST(ImageBmp, SixteenBitFieldsScaleAsPillowDoes) {
  // Expected values: Pillow 9.4 on the same pixels (v * 255 / max, truncated).
  std::vector<uint32_t> blue5;
  for (uint32_t v = 0; v < 32; ++v) blue5.push_back(v);
  const Image a = decode_image(bmp_raw(32, 1, 16, 0, {}, {}, {u16le(blue5)}), "555.bmp");
  EXPECT_EQ(channel(a, 2), (std::vector<int>{0,   8,   16,  24,  32,  41,  49,  57,  65,  74,  82,
                                             90,  98,  106, 115, 123, 131, 139, 148, 156, 164, 172,
                                             180, 189, 197, 205, 213, 222, 230, 238, 246, 255}));
  std::vector<uint32_t> green6;
  for (uint32_t v : {0u, 1u, 2u, 31u, 32u, 62u, 63u}) green6.push_back(v << 5);
  const Image b = decode_image(bmp_raw(7, 1, 16, 3, {0xF800, 0x07E0, 0x001F}, {}, {u16le(green6)}), "565.bmp");
  EXPECT_EQ(channel(b, 1), (std::vector<int>{0, 4, 8, 125, 129, 250, 255}));
  EXPECT_EQ(channel(b, 0), std::vector<int>(7, 0));
}

TEST(ImageBmp, PalettesOfOneFourAndEightBits) {
  const std::vector<uint32_t> pal = {0x0000FF, 0x00FF00, 0xFF0000, 0x0A141E};
  // 1 bit: 1 0 1 -> colours 1, 0, 1.
  EXPECT_EQ(decode_image(bmp_raw(3, 1, 1, 0, {}, {pal[0], pal[1]}, {{0b10100000}}), "1.bmp").rgb,
            (std::vector<uint8_t>{0, 255, 0, 0, 0, 255, 0, 255, 0}));
  // 4 bits: 0 1 3.
  EXPECT_EQ(decode_image(bmp_raw(3, 1, 4, 0, {}, pal, {{0x01, 0x30}}), "4.bmp").rgb,
            (std::vector<uint8_t>{0, 0, 255, 0, 255, 0, 10, 20, 30}));
  // 8 bits, top-down (negative height): row order as stored.
  EXPECT_EQ(decode_image(bmp_raw(1, -2, 8, 0, {}, pal, {{2}, {3}}), "8.bmp").rgb,
            (std::vector<uint8_t>{255, 0, 0, 10, 20, 30}));
  // An index past the palette is an error, not a guess.
  EXPECT_ERROR_MENTIONS(decode_image(bmp_raw(2, 1, 8, 0, {}, pal, {{0, 9}}), "oob.bmp"), "oob.bmp: ",
                        "uses colour 9 of a palette of 4");
}

TEST(ImageBmp, WhatIsNotSupportedIsNamed) {
  EXPECT_ERROR_MENTIONS(decode_image(bmp_raw(2, 2, 8, 1, {}, {0}, {{0, 0}, {0, 0}}), "rle.bmp"), "rle.bmp: ",
                        "RLE-compressed BMP (RLE8) is not supported");
  EXPECT_ERROR_MENTIONS(decode_image(bmp_raw(4, 1, 2, 0, {}, {0, 0, 0, 0}, {{0}}), "2bit.bmp"), "2bit.bmp: ",
                        "2 bits per pixel is not supported");
  EXPECT_ERROR_MENTIONS(decode_image(bmp_raw(1, 1, 32, 3, {0xF0F000, 0xFF00, 0xFF}, {}, {{0, 0, 0, 0}}), "mask.bmp"),
                        "mask.bmp: ", "not contiguous");
  // The compression field of fuzz/regressions/image/bmp-negative-compression-*.bmp (stb read it
  // as a negative int and decoded 1.7 GB of zeros).
  EXPECT_ERROR_MENTIONS(decode_image(bmp_raw(1, 1, 24, 0xf735ab40u, {}, {}, {{1, 2, 3}}), "neg.bmp"), "neg.bmp: ",
                        "compression 4147489600 is not supported");
}

std::vector<uint8_t> pnm(const std::string& header, const std::vector<uint8_t>& samples) {
  std::vector<uint8_t> b(header.begin(), header.end());
  b.insert(b.end(), samples.begin(), samples.end());
  return b;
}

TEST(ImagePnm, SamplesAreScaledByMaxvalAsPillowDoes) {
  // Expected values: Pillow 9.4 (round(v * 255 / maxval), ties to even: 60 of 200 is 76.5 -> 76).
  EXPECT_EQ(channel(decode_image(pnm("P5\n4 1\n15\n", {0, 7, 8, 15}), "a.pgm"), 0), (std::vector<int>{0, 119, 136, 255}));
  EXPECT_EQ(channel(decode_image(pnm("P5 5 1 200\n", {0, 60, 100, 101, 200}), "b.pgm"), 1),
            (std::vector<int>{0, 76, 128, 129, 255}));
  // 16-bit P6, big-endian samples: 0, 256, 511, 65535, 65280, 32768, 383, 384 (red channel).
  std::vector<uint8_t> s;
  for (uint32_t v : {0u, 256u, 511u, 65535u, 65280u, 32768u, 383u, 384u})
    for (int c = 0; c < 3; ++c) s.push_back(uint8_t(v >> 8)), s.push_back(uint8_t(v));
  EXPECT_EQ(channel(decode_image(pnm("P6\n8 1\n65535\n", s), "c.ppm"), 0),
            (std::vector<int>{0, 1, 2, 255, 254, 128, 1, 1}));
  // 16-bit P5 (stb_image 2.27 over-read its buffer on these, fuzz/regressions/image/grey16_p5.pgm):
  // scaled the same way. Pillow opens it as mode I and clips every value above 255 instead.
  const Image g = decode_image(pnm("P5 2 1 65535\n", {0x12, 0x34, 0xab, 0xcd}), "grey16.pgm");
  EXPECT_EQ(g.rgb, (std::vector<uint8_t>{18, 18, 18, 171, 171, 171}));
}

TEST(ImagePnm, StrictHeaderAndSamples) {
  EXPECT_ERROR_MENTIONS(decode_image(pnm("P5 2 1 15\n", {3, 16}), "over.pgm"), "over.pgm: ",
                        "sample 16 at pixel 1 exceeds the maxval 15");
  EXPECT_ERROR_MENTIONS(decode_image(pnm("P3\n1 1\n255\n1 2 3\n", {}), "plain.ppm"), "plain.ppm: ",
                        "plain-text or 1-bit) is not supported");
  EXPECT_ERROR_MENTIONS(decode_image(pnm("P5 1 1 0\n", {0}), "zero.pgm"), "zero.pgm: ", "maxval is 0");
  // stb's header reader overflowed an int on this (fuzz/regressions/image/stb-pnm-getinteger-*).
  EXPECT_ERROR_MENTIONS(decode_image(pnm("P6 99999999999 1 255\n", {}), "big.ppm"), "big.ppm: ", "more than 9 digits");
  EXPECT_ERROR_MENTIONS(decode_image(pnm("P6 1 1 255", {}), "end.ppm"), "end.ppm: ", "whitespace byte after the maxval");
}

// ---- PNG and JPEG: what the libraries are not asked to do ----------------------------------

uint32_t crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
  }
  return ~c;
}

TEST(ImagePng, HeaderClaimingMorePixelsThanTheFileCanHoldIsRefusedUnread) {
  ScratchDir dir;
  write_png(dir.path("small.png"), generate_test_image(8, 8, 1));
  std::vector<uint8_t> b = test::read_bytes(dir.path("small.png"));
  // IHDR: bytes 16..23 are width and height (big-endian); its CRC follows the 13 data bytes.
  for (int i : {16, 20}) b[size_t(i)] = 0, b[size_t(i) + 1] = 0, b[size_t(i) + 2] = 0x40, b[size_t(i) + 3] = 0;
  const uint32_t crc = crc32(&b[12], 17);
  for (int k = 0; k < 4; ++k) b[29 + size_t(k)] = uint8_t(crc >> (24 - 8 * k));
  EXPECT_ERROR_MENTIONS(decode_image(b, "bomb.png"), "bomb.png: ", "16384x16384", "needs at least");
}

TEST(ImageJpeg, DecodesAndRefusesTruncation) {
  const std::string dir = std::string(LOCKSTEP_FUZZ_DIR) + "/corpus/image/";
  const Image im = load_image(dir + "rgb_17x3_q90.jpg");
  EXPECT_EQ(im.width, 17u);
  EXPECT_EQ(im.height, 3u);
  const std::vector<uint8_t> full = test::read_bytes(dir + "rgb_17x3_q90.jpg");
  // Cut inside the headers, and inside the entropy-coded data: an error, never grey filler.
  for (size_t keep : {size_t(2), size_t(100), full.size() - 40, full.size() - 2}) {
    SCOPED_TRACE(keep);
    EXPECT_ERROR_MENTIONS(decode_image(std::span(full.data(), keep), "cut.jpg"), "cut.jpg: ");
  }
}

TEST(ImageRegressions, EveryInputIsAnsweredQuickly) {
  // Each crashed, over-read or exhausted stb_image: now each is decoded or refused, fast.
  const std::filesystem::path dir = std::filesystem::path(LOCKSTEP_FUZZ_DIR) / "regressions" / "image";
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    SCOPED_TRACE(e.path().filename().string());
    ++files;
    const auto t0 = std::chrono::steady_clock::now();
    std::string answer;
    try {
      const Image im = load_image(e.path().string());
      answer = "decoded " + std::to_string(im.width) + "x" + std::to_string(im.height);
    } catch (const std::runtime_error& err) {
      answer = err.what();
      EXPECT_EQ(answer.rfind(e.path().string() + ": ", 0), 0u) << answer;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(s, 1.0);
    const std::string prefix = e.path().string() + ": ";
    if (answer.rfind(prefix, 0) == 0) answer = answer.substr(prefix.size());
    std::printf("[ regression ] %s (%.3f s): %s\n", e.path().filename().c_str(), s, answer.c_str());
  }
  EXPECT_GE(files, 9);
}

TEST(ImageRegressions, DecompressionBombsAreRefusedBeforeDecoding) {
  const std::string dir = std::string(LOCKSTEP_FUZZ_DIR) + "/regressions/image/";
  // stb_image decoded these to 16384x16384 (1.8 GB, 11 s): 842 bytes of JPEG cannot code that.
  EXPECT_ERROR_MENTIONS(load_image(dir + "jpeg-zero-filled-16384x16384.jpg"), "jpeg-zero-filled", "16384x16384",
                        "needs at least 262144 bytes");
  EXPECT_ERROR_MENTIONS(load_image(dir + "bmp-negative-compression-16384x16384.bmp"), "bmp-negative",
                        "is not supported");
  // stb grew its buffer to 2 GiB for an IDAT length past the end of the file (the fuzzer's file
  // has a bad IHDR CRC, which libpng refuses first). The same on a valid PNG: libpng reads the
  // chunk as it inflates it and finds the end of the file.
  EXPECT_ERROR_MENTIONS(load_image(dir + "png-idat-length-2gib-11f68418.png"), "png-idat-length");
  ScratchDir scratch;
  write_png(scratch.path("ok.png"), generate_test_image(16, 16, 2));
  std::vector<uint8_t> b = test::read_bytes(scratch.path("ok.png"));
  const std::string idat = "IDAT";
  const auto at = std::search(b.begin(), b.end(), idat.begin(), idat.end()) - b.begin();
  ASSERT_LT(size_t(at), b.size());
  b[size_t(at) - 4] = 0x7f, b[size_t(at) - 3] = 0xf0;  // length 0x7ff0xxxx: 2 GiB
  EXPECT_ERROR_MENTIONS(decode_image(b, "long-idat.png"), "long-idat.png: ", "the file ends early (truncated PNG)");
}

TEST(ImageWrite, RejectsInconsistentImage) {
  ScratchDir dir;
  const Image bad{4, 4, std::vector<uint8_t>(10)};
  EXPECT_ERROR_MENTIONS(write_png(dir.path("bad.png"), bad), "bad.png: ");
  EXPECT_FALSE(std::filesystem::exists(dir.path("bad.png")));
}

TEST(TestImage, DeterministicAndSeeded) {
  const Image a = generate_test_image(64, 48, 1), b = generate_test_image(64, 48, 1);
  const Image c = generate_test_image(64, 48, 2);
  EXPECT_EQ(a.rgb, b.rgb);
  EXPECT_NE(a.rgb, c.rgb);
  EXPECT_EQ(a.rgb.size(), 64u * 48u * 3u);
  // Pinned: any change to the generator changes the demos and their expected outputs.
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (uint8_t v : a.rgb) h = (h ^ v) * 1099511628211ull;
  EXPECT_EQ(h, 3118272224980271939ull) << "FNV-1a of generate_test_image(64, 48, 1)";
}

}  // namespace
}  // namespace lockstep::io
