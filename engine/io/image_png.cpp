// PNG through libpng (Debian libpng-dev), to 8-bit RGB as Pillow's convert('RGB') gives it:
// palettes expanded, grey replicated, alpha and tRNS dropped (not blended), 16-bit samples
// reduced to their high byte (Pillow's "RGB;16B"), gAMA/sBIT/iCCP ignored, Adam7 de-interlaced.
// libpng reports errors with longjmp: every libpng call runs inside png_stage(), whose frame
// holds no C++ object with a destructor (longjmp would skip it), and the png_struct is owned by
// a guard in the caller's frame.
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "io/image_decoders.hpp"

namespace lockstep::io::detail {

namespace {

struct PngSource {
  const uint8_t* data;
  size_t size;
  size_t pos;
  char error[256];
};

void on_read(png_structp png, png_bytep out, size_t n) {
  auto* s = static_cast<PngSource*>(png_get_io_ptr(png));
  if (n > s->size - s->pos) png_error(png, "the file ends early (truncated PNG)");
  std::memcpy(out, s->data + s->pos, n);
  s->pos += n;
}

void on_error(png_structp png, png_const_charp msg) {
  auto* s = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(s->error, sizeof s->error, "%s", msg ? msg : "unknown libpng error");
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}  // benign (an unknown ancillary chunk, a bad CRC in one)

struct Header {
  png_uint_32 width, height;
  int bit_depth, color_type, interlace, passes;
  size_t rowbytes;
  png_byte channels;
};

// Stage 1: the chunks before the pixels, and the transforms to 8-bit RGB.
bool read_header(png_structp png, png_infop info, Header* h) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  png_get_IHDR(png, info, &h->width, &h->height, &h->bit_depth, &h->color_type, &h->interlace, nullptr, nullptr);
  if (h->color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (h->color_type == PNG_COLOR_TYPE_GRAY && h->bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (h->bit_depth == 16) png_set_strip_16(png);
  if (h->color_type & PNG_COLOR_MASK_ALPHA || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
  if (!(h->color_type & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
  h->passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  h->rowbytes = png_get_rowbytes(png, info);
  h->channels = png_get_channels(png, info);
  return true;
}

// Stage 2: every row of every pass, into `rows` (height rows of `stride` bytes).
bool read_rows(png_structp png, const Header* h, uint8_t* rows, size_t stride) {
  if (setjmp(png_jmpbuf(png))) return false;
  for (int pass = 0; pass < h->passes; ++pass)
    for (png_uint_32 y = 0; y < h->height; ++y) png_read_row(png, rows + size_t(y) * stride, nullptr);
  return true;
}

struct PngGuard {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngGuard() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
};

// Bytes of filtered scanlines libpng must inflate for the image (Adam7 adds at most 7 filter
// bytes per row pair, ignored here: the bound below has room).
uint64_t raw_bytes(uint64_t w, uint64_t h, int bit_depth, int color_type) {
  const int channels = color_type == PNG_COLOR_TYPE_PALETTE ? 1
                       : color_type == PNG_COLOR_TYPE_GRAY ? 1
                       : color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                       : color_type == PNG_COLOR_TYPE_RGB ? 3
                                                           : 4;
  return h * (1 + (w * uint64_t(channels) * uint64_t(bit_depth) + 7) / 8);
}

}  // namespace

Image decode_png(std::span<const uint8_t> bytes, const std::string& name) {
  PngSource src{bytes.data(), bytes.size(), 0, {0}};
  PngGuard g;
  g.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
  if (!g.png) fail(name, "cannot decode PNG: libpng could not start (out of memory?)");
  g.info = png_create_info_struct(g.png);
  if (!g.info) fail(name, "cannot decode PNG: libpng could not start (out of memory?)");
  png_set_read_fn(g.png, &src, on_read);
  png_set_user_limits(g.png, kMaxImageSide, kMaxImageSide);
  png_set_chunk_malloc_max(g.png, 8u << 20);  // text, ICC profile, ...: no ancillary chunk above 8 MiB

  Header h{};
  if (!read_header(g.png, g.info, &h)) fail(name, std::string("corrupt PNG header: ") + src.error);
  check_size(name, "PNG", h.width, h.height);
  // zlib's deflate expands at most 1032-fold: a file smaller than that cannot hold the pixels.
  check_compression_bound(name, "PNG", h.width, h.height, bytes.size(),
                          raw_bytes(h.width, h.height, h.bit_depth, h.color_type) / 1032,
                          "deflate compresses at most 1032:1");
  if (h.channels != 3 || h.rowbytes != size_t(h.width) * 3)
    fail(name, "cannot decode PNG: unexpected layout after conversion to 8-bit RGB");
  Image im;
  im.width = h.width;
  im.height = h.height;
  im.rgb.resize(size_t(h.width) * h.height * 3);
  if (!read_rows(g.png, &h, im.rgb.data(), h.rowbytes))
    fail(name, std::string("corrupt or truncated PNG data: ") + src.error);
  return im;
}

}  // namespace lockstep::io::detail
