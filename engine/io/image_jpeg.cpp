// JPEG through libjpeg-turbo (Debian libjpeg62-turbo-dev), the library Pillow uses, with
// Pillow's settings (libjpeg's defaults: islow IDCT, fancy upsampling), so that the pixels are
// Pillow's. Greyscale, YCbCr and RGB files decode to RGB; CMYK/YCCK files are refused (Pillow
// would convert them naively). A file that ends before its image data does (libjpeg's warning
// JWRN_JPEG_EOF, after which it would fill the rest with grey) is an error, as in Pillow; other
// warnings (extraneous bytes, a damaged segment that libjpeg recovers from) are not.
// libjpeg reports errors with longjmp: every libjpeg call runs in a stage function whose frame
// holds no C++ object with a destructor; the decompressor is destroyed by a guard in the caller.
#include <cstdio>
// jpeglib.h needs size_t and FILE declared first.
#include <jerror.h>
#include <jpeglib.h>

#include <csetjmp>
#include <cstring>

#include "io/image_decoders.hpp"

namespace lockstep::io::detail {

namespace {

constexpr int kMaxScans = 256;  // a progressive JPEG has about 10; thousands are a CPU bomb

struct ErrorManager {
  jpeg_error_mgr pub;  // first: libjpeg casts cinfo->err to it
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX + 64];
};

void on_error_exit(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  std::longjmp(e->jump, 1);
}

void on_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
    auto* e = reinterpret_cast<ErrorManager*>(cinfo->err);
    std::snprintf(e->message, sizeof e->message, "the file ends before the image data does (truncated JPEG)");
    std::longjmp(e->jump, 1);
  }
  cinfo->err->num_warnings++;
}

void on_progress(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxScans) {
    auto* e = reinterpret_cast<ErrorManager*>(cinfo->err);
    std::snprintf(e->message, sizeof e->message, "more than %d scans (a real JPEG has a few)", kMaxScans);
    std::longjmp(e->jump, 1);
  }
}

struct Decoder {
  jpeg_decompress_struct cinfo{};
  ErrorManager err{};
  jpeg_progress_mgr progress{};
  bool created = false;
};

bool read_header(Decoder* d, const uint8_t* data, size_t size) {
  if (setjmp(d->err.jump)) return false;
  jpeg_create_decompress(&d->cinfo);
  d->created = true;
  d->cinfo.progress = &d->progress;
  d->cinfo.mem->max_memory_to_use = long(2) << 30;  // coefficient buffers of a progressive image
  jpeg_mem_src(&d->cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&d->cinfo, TRUE);
  return true;
}

bool start(Decoder* d) {
  if (setjmp(d->err.jump)) return false;
  d->cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&d->cinfo);
  return true;
}

bool read_rows(Decoder* d, uint8_t* out, size_t stride) {
  if (setjmp(d->err.jump)) return false;
  while (d->cinfo.output_scanline < d->cinfo.output_height) {
    JSAMPROW row = out + size_t(d->cinfo.output_scanline) * stride;
    if (jpeg_read_scanlines(&d->cinfo, &row, 1) != 1) {
      std::snprintf(d->err.message, sizeof d->err.message, "no more scanlines (truncated JPEG)");
      return false;
    }
  }
  jpeg_finish_decompress(&d->cinfo);
  return true;
}

struct DecoderGuard {
  Decoder* d;
  ~DecoderGuard() {
    if (d->created) jpeg_destroy_decompress(&d->cinfo);
  }
};

}  // namespace

Image decode_jpeg(std::span<const uint8_t> bytes, const std::string& name) {
  Decoder d{};
  d.cinfo.err = jpeg_std_error(&d.err.pub);
  d.err.pub.error_exit = on_error_exit;
  d.err.pub.emit_message = on_message;
  d.progress.progress_monitor = on_progress;
  DecoderGuard guard{&d};
  if (!read_header(&d, bytes.data(), bytes.size())) fail(name, std::string("corrupt JPEG header: ") + d.err.message);
  const jpeg_decompress_struct& c = d.cinfo;
  check_size(name, "JPEG", c.image_width, c.image_height);
  // A block of 8x8 samples of one component costs at least one bit (its DC code) in a Huffman-
  // coded JPEG: 512 pixels a byte in a greyscale file, fewer with colour. Allowing 1024 refuses no
  // real photograph, and no Huffman-coded file at all (an arithmetic-coded one of a flat colour
  // could compress further: it is refused with this message).
  check_compression_bound(name, "JPEG", c.image_width, c.image_height, bytes.size(),
                          uint64_t(c.image_width) * c.image_height / 1024,
                          "a JPEG codes at most about 512 pixels per byte");
  if (c.jpeg_color_space != JCS_GRAYSCALE && c.jpeg_color_space != JCS_YCbCr && c.jpeg_color_space != JCS_RGB)
    fail(name, "JPEG in the " + std::string(c.jpeg_color_space == JCS_CMYK || c.jpeg_color_space == JCS_YCCK
                                                 ? "CMYK"
                                                 : "colour space " + std::to_string(int(c.jpeg_color_space))) +
                   " colour space is not supported: expected greyscale or RGB (YCbCr)");
  if (!start(&d)) fail(name, std::string("corrupt JPEG: ") + d.err.message);
  if (c.output_components != 3 || c.output_width != c.image_width || c.output_height != c.image_height)
    fail(name, "cannot decode JPEG: unexpected output layout");
  Image im;
  im.width = c.output_width;
  im.height = c.output_height;
  im.rgb.resize(size_t(im.width) * im.height * 3);
  if (!read_rows(&d, im.rgb.data(), size_t(im.width) * 3))
    fail(name, std::string("corrupt or truncated JPEG data: ") + d.err.message);
  return im;
}

}  // namespace lockstep::io::detail
