// Internal to lockstep_io: one decoder per format (image_png.cpp: libpng, image_jpeg.cpp:
// libjpeg-turbo, image_bmp_pnm.cpp: the project's own strict readers), called by decode_image
// (image.cpp) with the whole file. Each returns an 8-bit RGB image or throws std::runtime_error
// starting with `name`. None allocates pixel memory before check_size() accepted the header.
#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "io/image.hpp"

namespace lockstep::io::detail {

Image decode_png(std::span<const uint8_t> bytes, const std::string& name);
Image decode_jpeg(std::span<const uint8_t> bytes, const std::string& name);
Image decode_bmp(std::span<const uint8_t> bytes, const std::string& name);
Image decode_pnm(std::span<const uint8_t> bytes, const std::string& name);

// Throws unless a width x height image is within kMaxImageSide / kMaxImagePixels and not empty;
// `format` names the format in the message ("PNG").
void check_size(const std::string& name, const char* format, uint64_t width, uint64_t height);

// Compressed formats: a header may claim far more pixels than the file can code (a 1 KB JPEG
// claiming 16384x16384 decodes, by the book, to 800 MB of grey). `needed` is the least number of
// file bytes that can code the image (format-specific bound); a smaller file is refused before
// any pixel memory is allocated.
void check_compression_bound(const std::string& name, const char* format, uint64_t width, uint64_t height,
                             uint64_t file_bytes, uint64_t needed, const char* why);

[[noreturn]] void fail(const std::string& name, const std::string& what);

}  // namespace lockstep::io::detail
