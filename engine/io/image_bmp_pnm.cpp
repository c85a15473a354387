// BMP and binary PNM (P5/P6) readers of the project's own: both formats are uncompressed here,
// so the header alone says how many bytes the pixels need, and that is checked against the file
// before anything is allocated. Strict: what the reader does not understand is refused by name
// (RLE BMPs, OS/2 2.x headers, plain-text PNM), never guessed at, and no missing pixel is ever
// filled in. Sample values follow Pillow (convert('RGB')), tested against it: BMP bit fields
// scale a field of maximum m by v * 255 / m (truncated; exact for 8-bit fields), PNM samples by
// round(v * 255 / maxval) with ties to even.
#include <cstring>
#include <limits>

#include "io/image_decoders.hpp"

namespace lockstep::io::detail {

namespace {

uint32_t le16(std::span<const uint8_t> b, size_t at) { return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8; }
uint32_t le32(std::span<const uint8_t> b, size_t at) { return le16(b, at) | le16(b, at + 2) << 16; }

struct Field {  // one colour channel of a 16- or 32-bit pixel
  uint32_t mask = 0, shift = 0, max = 0;
};

Field field(const std::string& name, const char* channel, uint32_t mask, uint32_t bits) {
  if (mask == 0) fail(name, std::string("BMP bit field of the ") + channel + " channel is empty");
  if (bits < 32 && mask >> bits)
    fail(name, std::string("BMP bit field of the ") + channel + " channel lies outside the " + std::to_string(bits) +
                   "-bit pixel");
  Field f;
  f.mask = mask;
  while (!((mask >> f.shift) & 1)) ++f.shift;
  const uint32_t m = mask >> f.shift;
  if (m & (m + 1)) fail(name, std::string("BMP bit field of the ") + channel + " channel is not contiguous");
  if (m > 0xFFFF) fail(name, std::string("BMP bit field of the ") + channel + " channel is wider than 16 bits");
  f.max = m;
  return f;
}

// round(v * 255 / maxval), ties to even (Python's round(), which Pillow's PPM decoder uses).
uint8_t scale_sample(uint32_t v, uint32_t maxval) {
  const uint32_t q = v * 255u / maxval, r = v * 255u % maxval;
  return uint8_t(2 * r > maxval || (2 * r == maxval && (q & 1)) ? q + 1 : q);
}

uint8_t scale(const Field& f, uint32_t pixel) {
  const uint32_t v = (pixel & f.mask) >> f.shift;
  return f.max == 255 ? uint8_t(v) : uint8_t(v * 255u / f.max);
}

}  // namespace

Image decode_bmp(std::span<const uint8_t> b, const std::string& name) {
  // BITMAPFILEHEADER (14 bytes), then a DIB header that starts with its own size.
  if (b.size() < 18) fail(name, "corrupt BMP header: the file ends inside it (" + std::to_string(b.size()) + " bytes)");
  const uint32_t pixel_offset = le32(b, 10), header = le32(b, 14);
  if (header != 12 && header != 40 && header != 52 && header != 56 && header != 108 && header != 124)
    fail(name, "BMP header of " + std::to_string(header) +
                   " bytes is not supported: expected 12 (OS/2 1.x), 40, 52, 56, 108 or 124 (Windows)");
  if (14 + uint64_t(header) > b.size()) fail(name, "corrupt BMP header: the file ends inside it");
  const bool core = header == 12;
  int64_t width, height;
  uint32_t planes, bits, compression = 0, colours_used = 0;
  if (core) {
    width = le16(b, 18);
    height = le16(b, 20);
    planes = le16(b, 22);
    bits = le16(b, 24);
  } else {
    width = int32_t(le32(b, 18));
    height = int32_t(le32(b, 22));
    planes = le16(b, 26);
    bits = le16(b, 28);
    compression = le32(b, 30);
    colours_used = le32(b, 46);
  }
  const bool top_down = height < 0;
  if (top_down) height = -height;  // int64_t: INT32_MIN cannot overflow
  if (width <= 0 || height <= 0)
    fail(name, "BMP header says " + std::to_string(width) + "x" + std::to_string(height) +
                   ": expected a non-empty image");
  check_size(name, "BMP", uint64_t(width), uint64_t(height));
  if (planes != 1) fail(name, "corrupt BMP header: " + std::to_string(planes) + " planes, expected 1");
  if (bits != 1 && bits != 4 && bits != 8 && bits != 16 && bits != 24 && bits != 32)
    fail(name, "BMP with " + std::to_string(bits) + " bits per pixel is not supported: expected 1, 4, 8, 16, 24 or 32");
  if (core && bits != 1 && bits != 4 && bits != 8 && bits != 24)
    fail(name, "OS/2 BMP with " + std::to_string(bits) + " bits per pixel: expected 1, 4, 8 or 24");
  if (compression == 1 || compression == 2)
    fail(name, std::string("RLE-compressed BMP (") + (compression == 1 ? "RLE8" : "RLE4") +
                   ") is not supported: expected uncompressed pixels");
  if (compression != 0 && compression != 3 && compression != 6)
    fail(name, "BMP compression " + std::to_string(compression) +
                   " is not supported: expected 0 (none) or 3/6 (bit fields)");
  if (compression != 0 && bits != 16 && bits != 32)
    fail(name, "BMP bit fields with " + std::to_string(bits) + " bits per pixel: expected 16 or 32");

  // Channel layout: bit fields (after a 40-byte header, or inside a longer one) or the defaults.
  Field red, green, blue;
  size_t after_header = 14 + header;
  if (bits == 16 || bits == 32) {
    uint32_t masks[3] = {0x7C00, 0x03E0, 0x001F};
    if (bits == 32) masks[0] = 0xFF0000, masks[1] = 0xFF00, masks[2] = 0xFF;
    if (compression != 0) {
      size_t at = 54;
      if (header == 40) {
        after_header += compression == 6 ? 16 : 12;
        if (after_header > b.size()) fail(name, "corrupt BMP header: the file ends inside the bit fields");
      }
      for (uint32_t& m : masks) m = le32(b, at), at += 4;
    }
    red = field(name, "red", masks[0], bits);
    green = field(name, "green", masks[1], bits);
    blue = field(name, "blue", masks[2], bits);
  }

  // Palette (1, 4, 8 bits): B, G, R(, 0) entries between the headers and the pixels.
  std::vector<uint8_t> palette;  // RGB triples
  uint32_t colours = 0;
  if (bits <= 8) {
    colours = colours_used ? colours_used : 1u << bits;
    if (colours > (1u << bits))
      fail(name, "BMP palette of " + std::to_string(colours) + " colours for " + std::to_string(bits) +
                     "-bit pixels: expected at most " + std::to_string(1u << bits));
    const size_t entry = core ? 3 : 4;
    if (after_header + uint64_t(colours) * entry > std::min<uint64_t>(pixel_offset, b.size()))
      fail(name, "corrupt BMP: the palette of " + std::to_string(colours) + " colours does not fit before the pixels");
    palette.resize(size_t(colours) * 3);
    for (uint32_t i = 0; i < colours; ++i) {
      const size_t at = after_header + i * entry;
      palette[i * 3] = b[at + 2], palette[i * 3 + 1] = b[at + 1], palette[i * 3 + 2] = b[at];
    }
  }

  const uint64_t w = uint64_t(width), h = uint64_t(height);
  const uint64_t stride = (w * bits + 31) / 32 * 4;
  if (pixel_offset < after_header) fail(name, "corrupt BMP header: the pixels start inside the header");
  const uint64_t need = uint64_t(pixel_offset) + stride * h;
  if (need > b.size())
    fail(name, "truncated BMP: the pixel data needs " + std::to_string(need) + " bytes, the file has " +
                   std::to_string(b.size()));

  Image im;
  im.width = uint32_t(w);
  im.height = uint32_t(h);
  im.rgb.resize(size_t(w * h * 3));
  for (uint64_t row = 0; row < h; ++row) {
    const uint8_t* src = b.data() + pixel_offset + row * stride;
    uint8_t* dst = &im.rgb[size_t((top_down ? row : h - 1 - row) * w * 3)];
    for (uint64_t x = 0; x < w; ++x, dst += 3) {
      if (bits <= 8) {
        const uint32_t per_byte = 8 / bits, shift = 8 - bits * (1 + uint32_t(x % per_byte));
        const uint32_t index = (src[x / per_byte] >> shift) & ((1u << bits) - 1);
        if (index >= colours)
          fail(name, "corrupt BMP: pixel (" + std::to_string(x) + ", " + std::to_string(top_down ? row : h - 1 - row) +
                         ") uses colour " + std::to_string(index) + " of a palette of " + std::to_string(colours));
        std::memcpy(dst, &palette[index * 3], 3);
      } else if (bits == 24) {
        const uint8_t* p = src + x * 3;
        dst[0] = p[2], dst[1] = p[1], dst[2] = p[0];
      } else {
        const uint32_t v = bits == 16 ? le16({src, size_t(stride)}, size_t(x * 2)) : le32({src, size_t(stride)}, size_t(x * 4));
        dst[0] = scale(red, v), dst[1] = scale(green, v), dst[2] = scale(blue, v);
      }
    }
  }
  return im;
}

Image decode_pnm(std::span<const uint8_t> b, const std::string& name) {
  if (b.size() < 2 || b[0] != 'P') fail(name, "not a PNM file");
  if (b[1] != '5' && b[1] != '6')
    fail(name, std::string("PNM P") + char(b[1]) +
                   " (plain-text or 1-bit) is not supported: expected binary greyscale (P5) or colour (P6)");
  // The header: magic, width, height, maxval, separated by whitespace and '#' comments (to the
  // end of the line), then exactly one whitespace byte before the samples.
  size_t i = 2;
  auto space = [](uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  uint64_t value[3] = {0, 0, 0};
  const char* names[3] = {"width", "height", "maxval"};
  for (int k = 0; k < 3; ++k) {
    bool gap = false;
    while (i < b.size() && (space(b[i]) || b[i] == '#')) {
      if (b[i] == '#')
        while (i < b.size() && b[i] != '\n' && b[i] != '\r') ++i;
      else
        ++i;
      gap = true;
    }
    if (i >= b.size()) fail(name, std::string("corrupt PNM header: the file ends before the ") + names[k]);
    if (!gap || b[i] < '0' || b[i] > '9')
      fail(name, std::string("corrupt PNM header: expected whitespace and the ") + names[k] + " (a decimal number)");
    for (int digits = 0; i < b.size() && b[i] >= '0' && b[i] <= '9'; ++i) {
      if (++digits > 9) fail(name, std::string("corrupt PNM header: the ") + names[k] + " has more than 9 digits");
      value[k] = value[k] * 10 + (b[i] - '0');
    }
  }
  if (i >= b.size() || !space(b[i])) fail(name, "corrupt PNM header: expected one whitespace byte after the maxval");
  ++i;
  const uint64_t w = value[0], h = value[1], maxval = value[2];
  if (w == 0 || h == 0)
    fail(name, "PNM header says " + std::to_string(w) + "x" + std::to_string(h) + ": expected a non-empty image");
  check_size(name, "PNM", w, h);
  if (maxval == 0 || maxval > 65535)
    fail(name, "PNM maxval is " + std::to_string(maxval) + ": expected 1 to 65535");
  const uint64_t channels = b[1] == '6' ? 3 : 1, sample = maxval > 255 ? 2 : 1;
  const uint64_t need = i + w * h * channels * sample;
  if (need > b.size())
    fail(name, "truncated PNM: the pixel data needs " + std::to_string(need) + " bytes, the file has " +
                   std::to_string(b.size()));

  Image im;
  im.width = uint32_t(w);
  im.height = uint32_t(h);
  im.rgb.resize(size_t(w * h * 3));
  const uint8_t* p = b.data() + i;
  for (uint64_t px = 0; px < w * h; ++px) {
    for (uint64_t c = 0; c < channels; ++c, p += sample) {
      const uint32_t v = sample == 1 ? p[0] : uint32_t(p[0]) << 8 | p[1];
      if (v > maxval)
        fail(name, "corrupt PNM: sample " + std::to_string(v) + " at pixel " + std::to_string(px) +
                       " exceeds the maxval " + std::to_string(maxval));
      const uint8_t out = maxval == 255 ? uint8_t(v) : scale_sample(v, uint32_t(maxval));
      if (channels == 3)
        im.rgb[size_t(px * 3 + c)] = out;
      else
        im.rgb[size_t(px * 3)] = im.rgb[size_t(px * 3 + 1)] = im.rgb[size_t(px * 3 + 2)] = out;
    }
  }
  return im;
}

}  // namespace lockstep::io::detail
