// Fuzz target: image decoding (lockstep::io::decode_image, engine/io/image.hpp: stb_image PNG,
// JPEG, BMP, PNM, with the project's own size checks) — the `lockstep run` input images.
// A decoded image small enough is also preprocessed both ways at the smallest model size, as
// `lockstep run` does next, so odd sizes reach the resize and crop code.
// A std::exception is the expected answer to a bad file; any crash, sanitizer report, timeout
// or out-of-memory is a finding.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <span>

#include "io/image.hpp"

namespace {

// Open findings (fuzz/open/image/, fuzz/README.md "Findings"): inputs that make Debian 12's
// stb_image 2.27 corrupt or over-read memory. While they are open, scripts/fuzz.sh sets
// LOCKSTEP_FUZZ_SKIP_OPEN=1 so that the fuzzer does not stop on them again and again and can
// look for others; the replay tests of fuzz/open/image run them regardless. Remove each check
// when engine/io/image.cpp guards against it.

// 1. A 16-bit binary PGM (P5, maxval > 255): stbi__pnm_load converts the 16-bit samples to RGB
//    with the 8-bit converter, then stbi__convert_16_to_8 reads twice that buffer.
bool pgm16(const uint8_t* b, size_t n) {
  if (n < 2 || b[0] != 'P' || b[1] != '5') return false;
  size_t i = 2;
  uint64_t value = 0;
  for (int field = 0; field < 3; ++field) {  // width, height, maxval, as stb reads them
    while (i < n && (std::isspace(b[i]) || b[i] == '#')) {
      if (b[i] == '#')
        while (i < n && b[i] != '\n' && b[i] != '\r') ++i;
      else
        ++i;
    }
    for (value = 0; i < n && std::isdigit(b[i]) && value < (uint64_t(1) << 32); ++i) value = value * 10 + (b[i] - '0');
  }
  return value > 255;
}

// 2. A JPEG DHT segment whose table declares more than 256 codes: stbi__build_huffman writes
//    past size[257] and stbi__process_marker past values[256] (the codes' bytes, from the file).
//    Any FF C4 in any file is read as stb would read a DHT there (stb skips FF fill bytes
//    before markers, reads past the segment's end, and gets 0 past the file's end).
bool jpeg_dht_over_256(const uint8_t* b, size_t n) {
  auto at = [&](size_t i) -> unsigned { return i < n ? b[i] : 0u; };
  for (size_t i = 0; i + 3 < n; ++i) {
    if (b[i] != 0xFF || b[i + 1] != 0xC4) continue;
    long left = long((at(i + 2) << 8) | at(i + 3)) - 2;
    size_t p = i + 4;
    while (left > 0 && p < n) {
      unsigned codes = 0;
      for (size_t k = 1; k <= 16; ++k) codes += at(p + k);
      if (codes > 256) return true;
      p += 17 + codes;
      left -= long(17 + codes);
    }
  }
  return false;
}

// 3. A BMP whose compression field is 0x80000000 or more: stb reads it as a negative int, takes
//    it for uncompressed and fills the missing pixels with zeros, while decode_image's
//    truncation check (uncompressed_end) skips every compression but 0, 3 and 6. 139 bytes
//    decode to 16384x16384 (1.7 GB, 13 s under ASan).
bool bmp_negative_compression(const uint8_t* b, size_t n) {
  if (n < 34 || b[0] != 'B' || b[1] != 'M') return false;
  const uint32_t header = uint32_t(b[14]) | uint32_t(b[15]) << 8 | uint32_t(b[16]) << 16 | uint32_t(b[17]) << 24;
  return header != 12 && (b[33] & 0x80) != 0;
}

// 4. A JPEG whose frame header claims far more pixels than its bytes can code: stb decodes the
//    missing entropy-coded data as zeros, so 842 bytes decode to 16384x16384 (1.8 GB, 11 s under
//    ASan). A real JPEG codes at most a few hundred pixels per byte.
bool jpeg_bomb(const uint8_t* b, size_t n) {
  if (n < 2 || b[0] != 0xFF) return false;
  for (size_t i = 0; i + 8 < n; ++i)
    if (b[i] == 0xFF && b[i + 1] >= 0xC0 && b[i + 1] <= 0xCF && b[i + 1] != 0xC4 && b[i + 1] != 0xC8 &&
        b[i + 1] != 0xCC) {
      const uint64_t h = uint64_t(b[i + 5]) << 8 | b[i + 6], w = uint64_t(b[i + 7]) << 8 | b[i + 8];
      if (w * h > uint64_t(1024) * n) return true;
    }
  return false;
}

// 5. A PNG chunk whose length runs past the end of the file: stb grows its IDAT buffer to the
//    claimed length (up to 2 GiB) before it finds the bytes missing (190 bytes ask for 2 GiB;
//    virtual memory only, unless overcommit is off).
bool png_chunk_past_end(const uint8_t* b, size_t n) {
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (n < 8 || std::memcmp(b, sig, 8) != 0) return false;
  for (size_t p = 8; p + 8 <= n;) {
    const uint64_t len = uint64_t(b[p]) << 24 | uint64_t(b[p + 1]) << 16 | uint64_t(b[p + 2]) << 8 | b[p + 3];
    if (p + 12 + len > n) return len > (uint64_t(1) << 24);
    p += 12 + len;
  }
  return false;
}

bool open_finding(const uint8_t* b, size_t n) {
  static const bool skip = std::getenv("LOCKSTEP_FUZZ_SKIP_OPEN") != nullptr;
  return skip && (pgm16(b, n) || jpeg_dht_over_256(b, n) || bmp_negative_compression(b, n) || jpeg_bomb(b, n) ||
                  png_chunk_past_end(b, n));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lockstep::io;
  if (open_finding(data, size)) return 0;
  try {
    const Image im = decode_image(std::span<const uint8_t>(data, size), "fuzz-image");
    if (im.width == 0 || im.height == 0 || im.width > kMaxImageSide || im.height > kMaxImageSide ||
        im.rgb.size() != uint64_t(im.width) * im.height * 3)
      __builtin_trap();  // decode_image promises a non-empty image of consistent size
    if (uint64_t(im.width) * im.height <= 256 * 256) {
      (void)preprocess(im, Preprocess::Keras, 32);
      (void)preprocess(im, Preprocess::Torch, 32);
    }
  } catch (const std::exception&) {
  }
  return 0;
}
