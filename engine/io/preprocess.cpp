// Keras and torchvision preprocessing, reproducing what PIL does to the 8-bit pixels and what
// NumPy / PyTorch then do to the floats, bit for bit.
//
// Both frameworks resize with Pillow. The two resamplers below follow Pillow's C source
// (src/libImaging/Geometry.c and Resample.c, read from python-pillow/Pillow) operation for
// operation, and were checked bit for bit against Pillow 9.4 (Debian 12 python3-pil) by the
// PilParity tests.
//
// The normalisation repeats the frameworks' float32 steps in the same order, each one rounded
// to float32 as theirs is (no double intermediate; the build has -ffp-contract=off so no step
// is fused). Sources read:
//  - Keras: keras/src/applications/imagenet_utils.py (keras-team/keras),
//    _preprocess_numpy_input(), mode "caffe", channels_last; keras_applications and tf.keras
//    have the same code. img_to_array() gives float32 (backend.floatx()), x = x[..., ::-1]
//    (RGB -> BGR), then `x[..., c] -= mean[c]` with mean = [103.939, 116.779, 123.68] and no
//    division (std is None). NumPy evaluates a float32 array minus a Python float in float32:
//    the scalar is cast to float32 first, under value-based casting (NumPy 1.x) and under
//    NEP 50 (NumPy 2) alike (checked with NumPy 1.24, NEP 50 through its
//    np._set_promotion_state("weak")). So out = float32(v) - float32(mean).
//    (Keras' tensor path, x += convert_to_tensor(-np.array(mean), float32), should give the
//    same bits, since float32(-m) = -float32(m) and x + -y = x - y; not tested here.)
//  - torchvision: transforms/functional.py (pytorch/vision) to_tensor(): uint8 CHW tensor
//    `.to(dtype=torch.float32).div(255)`, then normalize(): mean and std become float32 tensors
//    (torch.as_tensor(..., dtype=tensor.dtype)) and `tensor.sub_(mean).div_(std)`. PyTorch's
//    CPU kernels (pytorch/pytorch aten/src/ATen/native/cpu/BinaryOpsKernel.cpp,
//    div_true_kernel) divide float32 by float32 as a / b (no reciprocal; the scalar 255 becomes
//    255.0f); sub_ is add with alpha -1 (aten/src/ATen/native/ufunc/add.h: self + alpha *
//    other, vectorised as fmadd), and -1 * mean is exact, so it is one rounded a - b.
//    So out = (float32(v) / 255f - float32(mean)) / float32(std), rounded after each step.
//    (On CUDA, div by the CPU scalar 255 is done as a multiply by 1/255 and can differ; ToTensor
//    runs on the CPU in a normal data pipeline.)
#include "io/image.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <stdexcept>

namespace lockstep::io {

// Each float operation must round to float32 (not to x87 extended precision) for the
// normalisation to match NumPy and PyTorch.
static_assert(FLT_EVAL_METHOD == 0, "float arithmetic must be evaluated in float");

namespace {

void check_input(const Image& im) {
  if (im.width == 0 || im.height == 0 || im.rgb.size() != uint64_t(im.width) * im.height * 3)
    throw std::invalid_argument("image is " + std::to_string(im.width) + "x" +
                                std::to_string(im.height) + " with " +
                                std::to_string(im.rgb.size()) +
                                " bytes: expected a non-empty image of width*height*3 bytes");
}

// PIL's resampling filter weights for one axis, as precompute_coeffs() and
// normalize_coeffs_8bpc() in Resample.c compute them (BILINEAR filter, support 1).
struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;       // per output pixel: first input index, number of taps
  std::vector<int32_t> weights;  // ksize per output pixel, fixed point with 22 fraction bits
};

constexpr int kPrecisionBits = 32 - 8 - 2;

double bilinear_filter(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

Coeffs pil_bilinear_coeffs(int in_size, int out_size) {
  // in0 = 0 and in1 = in_size are floats in PIL; both are exact here.
  const double scale = double(in_size) / out_size;
  // When shrinking, the filter is stretched by the scale factor: this is PIL's antialiasing.
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = 1.0 * filterscale;
  Coeffs c;
  c.ksize = int(std::ceil(support)) * 2 + 1;
  c.bounds.resize(size_t(out_size) * 2);
  c.weights.assign(size_t(out_size) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = 0.0 + (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = int(center - support + 0.5);  // C truncation, as in PIL
    if (xmin < 0) xmin = 0;
    int xmax = int(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double w = bilinear_filter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x)
      if (ww != 0.0) k[x] /= ww;
    for (int x = 0; x < xmax; ++x)  // weights are never negative for BILINEAR
      c.weights[size_t(xx) * c.ksize + x] = int32_t(0.5 + k[x] * (1 << kPrecisionBits));
    c.bounds[size_t(xx) * 2] = xmin;
    c.bounds[size_t(xx) * 2 + 1] = xmax;
  }
  return c;
}

// PIL's clip8(): start from half a unit, shift down (floor), clamp to 0..255.
uint8_t clip8(int64_t acc) {
  const int64_t v = acc >> kPrecisionBits;
  return uint8_t(v < 0 ? 0 : v > 255 ? 255 : v);
}

// One pass along x (horizontal) or y (vertical), 8-bit in and out, as
// ImagingResampleHorizontal_8bpc / ImagingResampleVertical_8bpc.
Image resample_pass(const Image& src, const Coeffs& c, bool horizontal, uint32_t out_size) {
  Image dst;
  dst.width = horizontal ? out_size : src.width;
  dst.height = horizontal ? src.height : out_size;
  dst.rgb.resize(size_t(dst.width) * dst.height * 3);
  for (uint32_t y = 0; y < dst.height; ++y)
    for (uint32_t x = 0; x < dst.width; ++x) {
      const uint32_t o = horizontal ? x : y;
      const int first = c.bounds[size_t(o) * 2], taps = c.bounds[size_t(o) * 2 + 1];
      const int32_t* w = &c.weights[size_t(o) * c.ksize];
      for (int ch = 0; ch < 3; ++ch) {
        int64_t acc = int64_t(1) << (kPrecisionBits - 1);
        for (int t = 0; t < taps; ++t) {
          const size_t sx = horizontal ? size_t(first + t) : x;
          const size_t sy = horizontal ? y : size_t(first + t);
          acc += int64_t(src.rgb[(sy * src.width + sx) * 3 + ch]) * w[t];
        }
        dst.rgb[(size_t(y) * dst.width + x) * 3 + ch] = clip8(acc);
      }
    }
  return dst;
}

// Python's round() on a multiple of 0.5: ties go to the even neighbour.
uint32_t half_of_rounded_even(uint32_t d) {
  const uint32_t q = d / 2;
  return (d % 2 == 1 && q % 2 == 1) ? q + 1 : q;
}

}  // namespace

Preprocess parse_preprocess(std::string_view name) {
  if (name == "keras") return Preprocess::Keras;
  if (name == "torch") return Preprocess::Torch;
  throw std::invalid_argument("unknown preprocessing '" + std::string(name) +
                              "': expected one of: keras, torch");
}

std::string_view preprocess_name(Preprocess p) {
  return p == Preprocess::Keras ? "keras" : "torch";
}

Image crop(const Image& src, uint32_t left, uint32_t top, uint32_t width, uint32_t height) {
  check_input(src);
  if (uint64_t(left) + width > src.width || uint64_t(top) + height > src.height)
    throw std::invalid_argument("crop box exceeds the image");
  Image dst{width, height, std::vector<uint8_t>(size_t(width) * height * 3)};
  for (uint32_t y = 0; y < height; ++y)
    std::copy_n(&src.rgb[((size_t(top) + y) * src.width + left) * 3], size_t(width) * 3,
                &dst.rgb[size_t(y) * width * 3]);
  return dst;
}

// PIL NEAREST (Geometry.c, ImagingScaleAffine via _resize in _imaging.c): the step is
// a = in/out in double; the source index of output x is (int)xo where xo starts at a * 0.5
// and a is added once per pixel. Mathematically that is floor((x + 0.5) * in / out); the
// running sum is kept because its rounding is what PIL actually computes.
Image resize_nearest_pil(const Image& src, uint32_t width, uint32_t height) {
  check_input(src);
  if (width == 0 || height == 0) throw std::invalid_argument("resize to an empty size");
  if (width == src.width && height == src.height) return src;  // PIL copies
  const double ax = double(src.width) / width, ay = double(src.height) / height;
  std::vector<int64_t> xin(width);
  double xo = 0.0 + ax * 0.5;
  for (uint32_t x = 0; x < width; ++x, xo += ax) xin[x] = xo < 0.0 ? -1 : int64_t(xo);

  // Out-of-range sources are left black, as PIL does (fill = 1); they cannot occur for a
  // plain resize but keep the loop safe.
  Image dst{width, height, std::vector<uint8_t>(size_t(width) * height * 3, 0)};
  double yo = 0.0 + ay * 0.5;
  for (uint32_t y = 0; y < height; ++y, yo += ay) {
    const int64_t yi = yo < 0.0 ? -1 : int64_t(yo);
    if (yi < 0 || yi >= int64_t(src.height)) continue;
    for (uint32_t x = 0; x < width; ++x) {
      if (xin[x] < 0 || xin[x] >= int64_t(src.width)) continue;
      std::copy_n(&src.rgb[(size_t(yi) * src.width + size_t(xin[x])) * 3], 3,
                  &dst.rgb[(size_t(y) * width + x) * 3]);
    }
  }
  return dst;
}

// PIL BILINEAR (Resample.c, ImagingResampleInner): horizontal pass first, then vertical, each
// with fixed-point weights and the result rounded to uint8 between the passes. A pass is
// skipped when that axis keeps its size. Pillow's horizontal pass only touches the rows the
// vertical pass reads; computing all rows gives the same pixels.
Image resize_bilinear_pil(const Image& src, uint32_t width, uint32_t height) {
  check_input(src);
  if (width == 0 || height == 0) throw std::invalid_argument("resize to an empty size");
  Image out = src;
  if (width != src.width)
    out = resample_pass(out, pil_bilinear_coeffs(int(src.width), int(width)), true, width);
  if (height != src.height)
    out = resample_pass(out, pil_bilinear_coeffs(int(src.height), int(height)), false, height);
  return out;
}

TorchGeometry torch_geometry(uint32_t width, uint32_t height, uint32_t size) {
  if (width == 0 || height == 0 || size == 0) throw std::invalid_argument("empty size");
  // Resize(256) then CenterCrop(224) is a crop ratio of 0.875; other sizes keep the ratio.
  const uint64_t short_target = uint64_t(size) * 8 / 7;
  const uint64_t shorter = std::min(width, height), longer = std::max(width, height);
  // torchvision: new_long = int(requested_new_short * long / short), a Python float division.
  const auto long_target = uint64_t(double(short_target * longer) / double(shorter));
  TorchGeometry g;
  g.resized_width = uint32_t(width <= height ? short_target : long_target);
  g.resized_height = uint32_t(width <= height ? long_target : short_target);
  // A very thin input gives a very long side (5x900 -> 256x46080); refuse only what would
  // not fit the image pixel limit.
  if (short_target * long_target > kMaxImagePixels)
    throw std::invalid_argument("torch preprocessing: resized image would be " +
                                std::to_string(g.resized_width) + "x" +
                                std::to_string(g.resized_height) + ", over 2^28 pixels");
  // CenterCrop: crop_top = int(round((h - size) / 2.0)), Python round (ties to even).
  g.crop_left = half_of_rounded_even(g.resized_width - size);
  g.crop_top = half_of_rounded_even(g.resized_height - size);
  return g;
}

PreprocessSteps preset_steps(Preprocess p) {
  if (p == Preprocess::Keras) return {Preprocess::Keras, Resize::Nearest, Channels::Bgr, Normalize::Caffe};
  return {Preprocess::Torch, Resize::Bilinear, Channels::Rgb, Normalize::Torch};
}

Resize parse_resize(std::string_view s) {
  if (s == "nearest") return Resize::Nearest;
  if (s == "bilinear") return Resize::Bilinear;
  throw std::invalid_argument("resize '" + std::string(s) + "' is not one of: nearest, bilinear");
}

Channels parse_channels(std::string_view s) {
  if (s == "rgb") return Channels::Rgb;
  if (s == "bgr") return Channels::Bgr;
  throw std::invalid_argument("channel order '" + std::string(s) + "' is not one of: rgb, bgr");
}

Normalize parse_normalize(std::string_view s) {
  if (s == "caffe") return Normalize::Caffe;
  if (s == "torch") return Normalize::Torch;
  throw std::invalid_argument("normalisation '" + std::string(s) + "' is not one of: caffe, torch");
}

std::string describe(const PreprocessSteps& steps) {
  const PreprocessSteps own = preset_steps(steps.geometry);
  std::string s(preprocess_name(steps.geometry));
  if (steps.resize != own.resize) s += steps.resize == Resize::Nearest ? ",resize=nearest" : ",resize=bilinear";
  if (steps.channels != own.channels) s += steps.channels == Channels::Rgb ? ",channels=rgb" : ",channels=bgr";
  if (steps.normalize != own.normalize) s += steps.normalize == Normalize::Caffe ? ",normalize=caffe" : ",normalize=torch";
  return s;
}

std::vector<float> preprocess(const Image& image, Preprocess p, uint32_t size) {
  return preprocess(image, preset_steps(p), size);
}

std::vector<float> preprocess(const Image& image, const PreprocessSteps& steps, uint32_t size) {
  check_input(image);
  if (size == 0 || size > kMaxImageSide) throw std::invalid_argument("bad model input size");
  const size_t plane = size_t(size) * size;
  auto resize = [&](const Image& im, uint32_t w, uint32_t h) {
    return steps.resize == Resize::Nearest ? resize_nearest_pil(im, w, h) : resize_bilinear_pil(im, w, h);
  };
  Image r;
  if (steps.geometry == Preprocess::Keras) {
    r = resize(image, size, size);
  } else {
    const TorchGeometry g = torch_geometry(image.width, image.height, size);
    r = crop(resize(image, g.resized_width, g.resized_height), g.crop_left, g.crop_top, size, size);
  }
  std::vector<float> out(plane * 3);
  for (int c = 0; c < 3; ++c) {
    const int src = steps.channels == Channels::Rgb ? c : 2 - c;  // output channel c from RGB source channel src
    if (steps.normalize == Normalize::Caffe) {
      // The Python floats, cast to float32 as NumPy casts them (from the double, not from the
      // decimal text); given in BGR order, applied by position.
      const float mean[3] = {float(103.939), float(116.779), float(123.68)};
      for (size_t i = 0; i < plane; ++i) {
        const float v = float(r.rgb[i * 3 + src]);  // img_to_array: exact
        out[c * plane + i] = v - mean[c];            // x[..., c] -= mean[c], in float32
      }
    } else {
      // torch.as_tensor(mean/std, dtype=float32): each Python float (double) cast to float32.
      const float mean[3] = {float(0.485), float(0.456), float(0.406)};
      const float stddev[3] = {float(0.229), float(0.224), float(0.225)};
      for (size_t i = 0; i < plane; ++i) {
        const float v = float(r.rgb[i * 3 + src]);  // uint8 -> float32: exact
        const float scaled = v / 255.0f;            // ToTensor: .div(255)
        const float centred = scaled - mean[c];     // Normalize: .sub_(mean)
        out[c * plane + i] = centred / stddev[c];   //            .div_(std)
      }
    }
  }
  return out;
}

}  // namespace lockstep::io
