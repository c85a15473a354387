#include "io/image.hpp"

#include "io/file_util.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

// The stb implementation is compiled here, once, with every function static: no symbol can
// clash with another copy of stb linked into the same program. Only formats that begin with a
// signature are enabled, so a text file can never be taken for an image (TGA has none); HDR
// is left out because stb would tone-map it to 8 bits with a gamma curve, and GIF because stb
// decodes a truncated GIF without complaint.
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#define STBI_NO_STDIO
#include <stb/stb_image.h>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>

namespace lockstep::io {

namespace {

// Files above this are refused unread (a 16384 x 16384 BMP is 768 MiB).
constexpr uint64_t kMaxFileBytes = uint64_t(1) << 30;

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw std::runtime_error(name + ": " + what);
}

std::string stb_reason() {
  const char* r = stbi_failure_reason();
  return r ? r : "unknown reason";
}

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

// The format a file claims by its first bytes, or nullptr: tells "not an image" apart from
// "a damaged PNG" in error messages.
const char* signature_format(std::span<const uint8_t> b) {
  auto starts = [&](std::string_view sig) {
    return b.size() >= sig.size() && std::memcmp(b.data(), sig.data(), sig.size()) == 0;
  };
  if (starts("\x89PNG")) return "PNG";
  if (starts("\xff\xd8")) return "JPEG";
  if (starts("BM")) return "BMP";
  if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return "PNM";
  return nullptr;
}

uint32_t le(std::span<const uint8_t> b, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint32_t(b[at + i]) << (8 * i);
  return v;
}

// stb fills missing pixel data of uncompressed BMP and PNM files with zeros instead of
// failing, so their size is checked here. Returns the bytes the pixel data needs, or 0 when
// the format cannot be checked this way (compressed BMP). PNG and JPEG need no check: stb
// fails on a truncated file (see the TruncatedPng test).
uint64_t uncompressed_end(std::span<const uint8_t> b, const char* format, uint64_t w, uint64_t h) {
  if (std::strcmp(format, "BMP") == 0) {
    if (b.size() < 30) return 0;  // stb already failed on such a header
    const uint32_t header = le(b, 14, 4);
    const uint32_t bits = header == 12 ? le(b, 24, 2) : le(b, 28, 2);
    const uint32_t compression = header == 12 || b.size() < 34 ? 0 : le(b, 30, 4);
    if (compression != 0 && compression != 3 && compression != 6) return 0;  // RLE etc.
    return le(b, 10, 4) + (w * bits + 31) / 32 * 4 * h;
  }
  if (std::strcmp(format, "PNM") == 0) {
    // "P5" or "P6", then width, height and maxval separated by whitespace or # comments,
    // then one whitespace byte and the samples.
    size_t i = 2;
    uint64_t value = 0;
    for (int field = 0; field < 3; ++field) {
      while (i < b.size() && (std::isspace(b[i]) || b[i] == '#')) {
        if (b[i] == '#')
          while (i < b.size() && b[i] != '\n') ++i;
        else
          ++i;
      }
      for (value = 0; i < b.size() && std::isdigit(b[i]) && value < 65536; ++i)
        value = value * 10 + (b[i] - '0');
    }
    const uint64_t maxval = value;
    const uint64_t channels = b[1] == '6' ? 3 : 1, sample = maxval > 255 ? 2 : 1;
    return i + 1 + w * h * channels * sample;
  }
  return 0;
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
  const auto* data = bytes.data();
  const int len = static_cast<int>(bytes.size());

  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &comp)) {
    if (const char* format = signature_format(bytes))
      fail(name, std::string("corrupt ") + format + " header: " + stb_reason());
    fail(name, "not a recognised image: expected PNG, JPEG, BMP or PNM");
  }
  if (w <= 0 || h <= 0)
    fail(name, "image header says " + std::to_string(w) + "x" + std::to_string(h) +
                   ": expected a non-empty image");
  if (uint64_t(w) > kMaxImageSide || uint64_t(h) > kMaxImageSide ||
      uint64_t(w) * uint64_t(h) > kMaxImagePixels)
    fail(name, "image header says " + std::to_string(w) + "x" + std::to_string(h) +
                   ": expected at most " + std::to_string(kMaxImageSide) +
                   " per side and 2^28 pixels");

  if (const char* format = signature_format(bytes)) {
    const uint64_t need = uncompressed_end(bytes, format, uint64_t(w), uint64_t(h));
    if (need > bytes.size())
      fail(name, std::string("truncated ") + format + ": the pixel data needs " +
                     std::to_string(need) + " bytes, the file has " +
                     std::to_string(bytes.size()));
  }

  int w2 = 0, h2 = 0;
  stbi_uc* pixels = stbi_load_from_memory(data, len, &w2, &h2, &comp, 3);
  if (!pixels) {
    const char* format = signature_format(bytes);
    fail(name, std::string("corrupt or truncated ") + (format ? format : "image") +
                   " data: " + stb_reason());
  }
  if (w2 != w || h2 != h) {
    stbi_image_free(pixels);
    fail(name, "decoded size differs from the header: corrupt image");
  }
  Image im;
  im.width = static_cast<uint32_t>(w);
  im.height = static_cast<uint32_t>(h);
  im.rgb.assign(pixels, pixels + size_t(w) * size_t(h) * 3);
  stbi_image_free(pixels);
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
