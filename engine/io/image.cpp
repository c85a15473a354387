#include "io/image.hpp"

#include "io/file_util.hpp"
#include "io/image_decoders.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

// Writing only: stb_image_write, compiled here once with every function static, so that no
// symbol can clash with another copy of stb in the same program. Decoding is in image_png.cpp
// (libpng), image_jpeg.cpp (libjpeg-turbo) and image_bmp_pnm.cpp (strict readers of our own):
// Debian's stb_image 2.27 corrupts memory on crafted files (fuzz/README.md).
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>

namespace lockstep::io {

namespace detail {

void fail(const std::string& name, const std::string& what) { throw std::runtime_error(name + ": " + what); }

void check_size(const std::string& name, const char* format, uint64_t w, uint64_t h) {
  if (w == 0 || h == 0)
    fail(name, std::string(format) + " header says " + std::to_string(w) + "x" + std::to_string(h) +
                   ": expected a non-empty image");
  if (w > kMaxImageSide || h > kMaxImageSide || w * h > kMaxImagePixels)
    fail(name, std::string(format) + " header says " + std::to_string(w) + "x" + std::to_string(h) +
                   ": expected at most " + std::to_string(kMaxImageSide) + " per side and 2^28 pixels");
}

void check_compression_bound(const std::string& name, const char* format, uint64_t w, uint64_t h,
                             uint64_t file_bytes, uint64_t needed, const char* why) {
  if (file_bytes >= needed) return;
  fail(name, std::string(format) + " header says " + std::to_string(w) + "x" + std::to_string(h) + ", which needs at least " +
                 std::to_string(needed) + " bytes of compressed data, but the file has " + std::to_string(file_bytes) +
                 " (" + why + "): corrupt or truncated file");
}

}  // namespace detail

namespace {

using detail::fail;

// Files above this are refused unread (a 16384 x 16384 BMP is 768 MiB).
constexpr uint64_t kMaxFileBytes = uint64_t(1) << 30;

void check_image(const Image& im, const std::string& path) {
  if (im.width == 0 || im.height == 0)
    fail(path, "cannot write a zero-sized image (" + std::to_string(im.width) + "x" +
                   std::to_string(im.height) + ")");
  if (im.width > kMaxImageSide || im.height > kMaxImageSide ||
      im.rgb.size() != uint64_t(im.width) * im.height * 3)
    fail(path, "cannot write: image is " + std::to_string(im.width) + "x" +
                   std::to_string(im.height) + " with " + std::to_string(im.rgb.size()) +
                   " bytes: expected width*height*3 bytes and sides up to " +
                   std::to_string(kMaxImageSide));
}

void collect(void* context, void* data, int size) {
  auto* out = static_cast<std::string*>(context);
  out->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

Image decode_image(std::span<const uint8_t> bytes, const std::string& name) {
  if (bytes.empty()) fail(name, "file is empty: expected an image");
  if (bytes.size() > kMaxFileBytes) fail(name, "file is larger than 1 GiB: refusing to decode");
  auto starts = [&](std::string_view sig) {
    return bytes.size() >= sig.size() && std::memcmp(bytes.data(), sig.data(), sig.size()) == 0;
  };
  Image im;
  if (starts("\x89PNG"))
    im = detail::decode_png(bytes, name);
  else if (starts("\xff\xd8"))
    im = detail::decode_jpeg(bytes, name);
  else if (starts("BM"))
    im = detail::decode_bmp(bytes, name);
  else if (bytes.size() >= 2 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '7')
    im = detail::decode_pnm(bytes, name);
  else
    fail(name, "not a recognised image: expected PNG, JPEG, BMP or PNM");
  if (im.width == 0 || im.height == 0 || im.rgb.size() != uint64_t(im.width) * im.height * 3)
    throw std::logic_error(name + ": a decoder returned an inconsistent image");
  return im;
}

Image load_image(const std::string& path) {
  return decode_image(read_whole_file(path, kMaxFileBytes), path);
}

void write_png(const std::string& path, const Image& image) {
  check_image(image, path);
  std::string bytes;
  if (!stbi_write_png_to_func(collect, &bytes, int(image.width), int(image.height), 3,
                              image.rgb.data(), int(image.width * 3)))
    fail(path, "PNG encoding failed");
  write_file_atomically(path, {bytes});
}

void write_bmp(const std::string& path, const Image& image) {
  check_image(image, path);
  std::string bytes;
  if (!stbi_write_bmp_to_func(collect, &bytes, int(image.width), int(image.height), 3,
                              image.rgb.data()))
    fail(path, "BMP encoding failed");
  write_file_atomically(path, {bytes});
}

Image generate_test_image(uint32_t width, uint32_t height, uint64_t seed) {
  if (width == 0 || height == 0 || width > kMaxImageSide || height > kMaxImageSide)
    throw std::invalid_argument("generate_test_image: size must be 1.." +
                                std::to_string(kMaxImageSide) + " per side");
  uint64_t state = seed;
  auto pick = [&](uint32_t n) { return uint32_t(splitmix64(state) % n); };

  Image im{width, height, std::vector<uint8_t>(size_t(width) * height * 3)};
  // Smooth background: three gradients in different directions, phase set by the seed.
  const uint32_t phase = pick(256);
  const uint32_t wd = width > 1 ? width - 1 : 1, hd = height > 1 ? height - 1 : 1;
  for (uint32_t y = 0; y < height; ++y)
    for (uint32_t x = 0; x < width; ++x) {
      uint8_t* p = &im.rgb[(size_t(y) * width + x) * 3];
      p[0] = uint8_t((255u * x / wd + phase) & 255);
      p[1] = uint8_t(255u * y / hd);
      p[2] = uint8_t((255u * (x + y) / (wd + hd)) ^ 0x80);
    }
  // A few solid discs and rectangles, so the image has edges at random places.
  for (int shape = 0; shape < 6; ++shape) {
    const uint8_t colour[3] = {uint8_t(pick(256)), uint8_t(pick(256)), uint8_t(pick(256))};
    const int64_t cx = pick(width), cy = pick(height);
    const int64_t r = 1 + pick(std::max<uint32_t>(1, std::min(width, height) / 4));
    const bool disc = (shape & 1) == 0;
    for (int64_t y = std::max<int64_t>(0, cy - r); y < std::min<int64_t>(height, cy + r + 1); ++y)
      for (int64_t x = std::max<int64_t>(0, cx - r); x < std::min<int64_t>(width, cx + r + 1); ++x) {
        if (disc && (x - cx) * (x - cx) + (y - cy) * (y - cy) > r * r) continue;
        std::memcpy(&im.rgb[(size_t(y) * width + size_t(x)) * 3], colour, 3);
      }
  }
  return im;
}

}  // namespace lockstep::io
