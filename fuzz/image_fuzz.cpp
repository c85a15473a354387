// Fuzz target: image decoding (lockstep::io::decode_image, engine/io/image.hpp: PNG with libpng,
// JPEG with libjpeg-turbo, BMP and PNM with the project's own readers, and the size checks in
// front of them) — the `lockstep run` input images. libpng and libjpeg-turbo are system
// libraries without coverage instrumentation: the fuzzer is guided by the project's code only
// for those two formats.
// A decoded image small enough is also preprocessed both ways at the smallest model size, as
// `lockstep run` does next, so odd sizes reach the resize and crop code.
// A std::exception is the expected answer to a bad file; any crash, sanitizer report, timeout
// or out-of-memory is a finding.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>

#include "io/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lockstep::io;
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
