// Image decoding (PNG: libpng, JPEG: libjpeg-turbo, BMP and PNM: strict readers), PNG/BMP writing, a synthetic test image, and the Keras and
// torchvision preprocessing presets that turn an image into an NCHW float32 tensor.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lockstep::io {

// 8-bit RGB, row-major, 3 bytes per pixel, no padding.
struct Image {
  uint32_t width = 0;
  uint32_t height = 0;
  std::vector<uint8_t> rgb;
};

// Larger headers are refused before any pixel memory is allocated.
inline constexpr uint32_t kMaxImageSide = 16384;
inline constexpr uint64_t kMaxImagePixels = uint64_t(1) << 28;

// Decodes PNG, JPEG, BMP or binary PNM (P5/P6) to RGB, as Pillow's Image.open(f).convert('RGB')
// does: alpha dropped (not blended), grey expanded, palettes applied, 16-bit PNG samples reduced
// to their high byte, PNM samples scaled to 0..255 by their maxval. JPEG pixels are libjpeg-
// turbo's with Pillow's settings. Errors (missing, empty, not an image, corrupt or truncated,
// zero or absurd size, more pixels than a file of that size can code, a feature not supported
// such as RLE BMP or CMYK JPEG) throw std::runtime_error naming the file; nothing is allocated
// for pixels before the header passed those checks. Safe on untrusted files (fuzzed:
// fuzz/README.md).
Image load_image(const std::string& path);
Image decode_image(std::span<const uint8_t> bytes, const std::string& name);

// Lossless writers (for fixtures and debugging), via a temporary file renamed into place.
void write_png(const std::string& path, const Image& image);
void write_bmp(const std::string& path, const Image& image);

// Deterministic synthetic RGB image (smooth gradients plus a few shapes) for demos and tests;
// the same (w, h, seed) gives the same bytes on every platform (integer arithmetic only).
Image generate_test_image(uint32_t width, uint32_t height, uint64_t seed);

// ---- Preprocessing ---------------------------------------------------------------------

enum class Preprocess {
  // keras.applications vgg19/resnet50 "caffe" mode: load_img(target_size=(size, size)) with
  // PIL NEAREST, RGB->BGR, subtract [103.939, 116.779, 123.68] (B, G, R), no scaling.
  Keras,
  // torchvision: Resize(shorter side = floor(size * 8 / 7), i.e. 256 for 224) with PIL
  // BILINEAR, CenterCrop(size), ToTensor (/255), Normalize(mean [0.485, 0.456, 0.406],
  // std [0.229, 0.224, 0.225]) in RGB order.
  Torch,
};

// "keras" or "torch"; anything else throws, listing the accepted names.
Preprocess parse_preprocess(std::string_view name);
std::string_view preprocess_name(Preprocess p);

// The steps of a preset, each of which can be switched on its own to reproduce the mistakes
// users make (a nearest resize where the model was trained with bilinear, BGR where it
// expects RGB, torch normalisation for a caffe model). The geometry stays the preset's
// (Keras: the whole image resized to size x size; torch: shorter side to size*8/7, centre
// crop). Channel order is applied before the normalisation, whose constants are per position
// (caffe: [103.939, 116.779, 123.68] subtracted; torch: /255, mean [0.485, 0.456, 0.406],
// std [0.229, 0.224, 0.225]), exactly as a framework does when handed the other order.
enum class Resize : uint8_t { Nearest, Bilinear };
enum class Channels : uint8_t { Rgb, Bgr };
enum class Normalize : uint8_t { Caffe, Torch };
struct PreprocessSteps {
  Preprocess geometry = Preprocess::Keras;
  Resize resize = Resize::Nearest;
  Channels channels = Channels::Bgr;
  Normalize normalize = Normalize::Caffe;
  bool operator==(const PreprocessSteps&) const = default;
};
PreprocessSteps preset_steps(Preprocess p);
// Parsers throw std::invalid_argument listing the accepted names.
Resize parse_resize(std::string_view s);            // nearest | bilinear
Channels parse_channels(std::string_view s);        // rgb | bgr
Normalize parse_normalize(std::string_view s);      // caffe | torch
// "keras" or "torch" for a preset's own steps, else the preset with what was changed:
// "keras,resize=bilinear,channels=rgb".
std::string describe(const PreprocessSteps& steps);

// NCHW [1, 3, size, size] float32, bit for bit what the framework computes: the normalisation
// repeats Keras' (NumPy) and torchvision's (PyTorch CPU) float32 steps in their order, each
// rounded to float32 (see preprocess.cpp for the sources).
std::vector<float> preprocess(const Image& image, Preprocess p, uint32_t size = 224);
std::vector<float> preprocess(const Image& image, const PreprocessSteps& steps, uint32_t size = 224);

// Building blocks, exposed for tests.
// PIL Image.resize(..., NEAREST) and Image.resize(..., BILINEAR) on an 8-bit RGB image.
Image resize_nearest_pil(const Image& src, uint32_t width, uint32_t height);
Image resize_bilinear_pil(const Image& src, uint32_t width, uint32_t height);
Image crop(const Image& src, uint32_t left, uint32_t top, uint32_t width, uint32_t height);

// The torchvision Resize + CenterCrop geometry for an input of width x height.
struct TorchGeometry {
  uint32_t resized_width = 0, resized_height = 0;
  uint32_t crop_left = 0, crop_top = 0;
};
TorchGeometry torch_geometry(uint32_t width, uint32_t height, uint32_t size);

}  // namespace lockstep::io
