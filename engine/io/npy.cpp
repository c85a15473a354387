#include "io/npy.hpp"

#include "io/file_util.hpp"

#include <bit>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace lockstep::io {

static_assert(std::endian::native == std::endian::little,
              ".npy data is copied as little-endian bytes");

namespace {

constexpr uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr std::string_view kExpectedDescr = "expected '<f4' or '<f8'";

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw std::runtime_error(name + ": " + what);
}

std::string shape_string(std::span<const uint64_t> shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    s += std::to_string(shape[i]);
    s += (shape.size() == 1 || i + 1 < shape.size()) ? "," : "";
    if (i + 1 < shape.size()) s += ' ';
  }
  return s + ")";
}

// Says what a non-.npy file looks like, so "that is a PNG" is obvious from the message.
std::string describe_magic(std::span<const uint8_t> b) {
  static constexpr uint8_t png[4] = {0x89, 'P', 'N', 'G'};
  if (b.size() >= 4 && std::memcmp(b.data(), png, 4) == 0) return "a PNG signature";
  std::string s = "bytes";
  static const char* hex = "0123456789abcdef";
  for (size_t i = 0; i < b.size() && i < 6; ++i) {
    s += " ";
    s += hex[b[i] >> 4];
    s += hex[b[i] & 15];
  }
  return s;
}

// Where the header dict lies; parsed from the first (up to) 12 bytes of the file.
struct Preamble {
  uint32_t offset = 0;  // first byte of the header text
  uint32_t length = 0;
};

Preamble parse_preamble(std::span<const uint8_t> b, uint64_t file_size, const std::string& name) {
  if (file_size == 0) fail(name, "file is empty: expected a .npy file starting with \\x93NUMPY");
  if (b.size() < 6 || std::memcmp(b.data(), kMagic, 6) != 0)
    fail(name, "magic string is " + describe_magic(b) + ": expected \\x93NUMPY (not a .npy file)");
  if (b.size() < 8) fail(name, "header is truncated: the file ends inside the version field");
  const unsigned major = b[6], minor = b[7];
  if (major < 1 || major > 3 || minor != 0)
    fail(name, "version is " + std::to_string(major) + "." + std::to_string(minor) +
                   ": expected 1.0, 2.0 or 3.0");
  const uint32_t len_bytes = major == 1 ? 2 : 4;
  if (b.size() < 8 + len_bytes)
    fail(name, "header is truncated: the file ends inside the header length field");
  uint32_t len = 0;
  for (uint32_t i = 0; i < len_bytes; ++i) len |= uint32_t(b[8 + i]) << (8 * i);
  const uint64_t offset = 8 + len_bytes;
  if (offset + len > file_size)
    fail(name, "header length is " + std::to_string(len) + " bytes but only " +
                   std::to_string(file_size - offset) +
                   " bytes follow: expected the header to fit in the file");
  return {static_cast<uint32_t>(offset), len};
}

// A value in the header dict: the only kinds a valid header uses.
struct Value {
  enum Kind { Str, Bool, Tuple } kind = Str;
  std::string str;
  bool boolean = false;
  std::vector<uint64_t> tuple;
};

// Parses the Python dict literal NumPy writes, e.g.
// "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }". Strict: anything else fails.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& name) : s_(text), name_(name) {}

  std::vector<std::pair<std::string, Value>> parse_dict() {
    std::vector<std::pair<std::string, Value>> out;
    skip_ws();
    expect('{');
    skip_ws();
    while (!at('}')) {
      std::string key = parse_string();
      skip_ws();
      expect(':');
      skip_ws();
      out.emplace_back(std::move(key), parse_value());
      skip_ws();
      if (!at('}')) {
        expect(',');
        skip_ws();
      }
    }
    ++i_;
    skip_ws();
    if (i_ != s_.size()) error("end of header after '}'");
    return out;
  }

 private:
  [[noreturn]] void error(const std::string& expected) {
    std::string shown(s_.substr(0, 120));
    for (char& c : shown)
      if (c == '\n') c = ' ';
    fail(name_, "header is not a valid dict literal at byte " + std::to_string(i_) + ": expected " +
                    expected + " (header: \"" + shown + "\")");
  }
  bool at(char c) const { return i_ < s_.size() && s_[i_] == c; }
  void expect(char c) {
    if (!at(c)) error(std::string("'") + c + "'");
    ++i_;
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  std::string parse_string() {
    if (!at('\'') && !at('"')) error("a quoted string");
    const char q = s_[i_++];
    const size_t start = i_;
    while (i_ < s_.size() && s_[i_] != q) {
      if (s_[i_] == '\\' || static_cast<unsigned char>(s_[i_]) < 0x20 ||
          static_cast<unsigned char>(s_[i_]) >= 0x7f)
        error("a plain ASCII string");
      ++i_;
    }
    if (i_ == s_.size()) error("a closing quote");
    return std::string(s_.substr(start, i_++ - start));
  }
  bool take_word(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  uint64_t parse_uint() {
    if (at('-')) error("a non-negative dimension");
    if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') error("an integer");
    uint64_t v = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      const uint64_t d = uint64_t(s_[i_] - '0');
      if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) error("a dimension below 2^64");
      v = v * 10 + d;
      ++i_;
    }
    if (at('L')) ++i_;  // Python 2 long literal, as old NumPy wrote it
    return v;
  }
  Value parse_value() {
    Value v;
    if (at('\'') || at('"')) {
      v.kind = Value::Str;
      v.str = parse_string();
    } else if (take_word("True")) {
      v.kind = Value::Bool;
      v.boolean = true;
    } else if (take_word("False")) {
      v.kind = Value::Bool;
      v.boolean = false;
    } else if (at('(')) {
      v.kind = Value::Tuple;
      ++i_;
      skip_ws();
      bool trailing_comma = false;
      while (!at(')')) {
        v.tuple.push_back(parse_uint());
        skip_ws();
        trailing_comma = false;
        if (!at(')')) {
          expect(',');
          skip_ws();
          trailing_comma = true;
        }
      }
      // "(3)" is the int 3 in Python, not a tuple.
      if (v.tuple.size() == 1 && !trailing_comma) error("',' after a one-element shape");
      ++i_;
    } else {
      error("a string, True, False or a tuple");
    }
    return v;
  }

  std::string_view s_;
  const std::string& name_;
  size_t i_ = 0;
};

struct Header {
  bool f64 = false;
  std::vector<uint64_t> shape;
};

Header parse_header_text(std::string_view text, const std::string& name) {
  auto entries = HeaderParser(text, name).parse_dict();
  std::optional<Value> descr, fortran, shape;
  for (auto& [key, value] : entries) {
    std::optional<Value>* slot = key == "descr"           ? &descr
                                 : key == "fortran_order" ? &fortran
                                 : key == "shape"         ? &shape
                                                          : nullptr;
    if (!slot)
      fail(name, "header has unexpected key '" + key +
                     "': expected only 'descr', 'fortran_order' and 'shape'");
    if (slot->has_value()) fail(name, "header has key '" + key + "' twice: expected it once");
    *slot = std::move(value);
  }
  for (auto [v, key] : {std::pair{&descr, "descr"}, {&fortran, "fortran_order"}, {&shape, "shape"}})
    if (!v->has_value()) fail(name, std::string("header is missing key '") + key + "'");

  Header h;
  if (descr->kind != Value::Str)
    fail(name, "header field 'descr' is not a string: " + std::string(kExpectedDescr));
  if (descr->str == "<f4") {
    h.f64 = false;
  } else if (descr->str == "<f8") {
    h.f64 = true;
  } else if (descr->str == ">f4" || descr->str == ">f8") {
    fail(name, "header field 'descr' is '" + descr->str + "' (big-endian): " +
                   std::string(kExpectedDescr) + " (little-endian)");
  } else {
    fail(name, "header field 'descr' is '" + descr->str + "': " + std::string(kExpectedDescr));
  }
  if (fortran->kind != Value::Bool)
    fail(name, "header field 'fortran_order' is not True or False: expected False");
  if (fortran->boolean)
    fail(name, "header field 'fortran_order' is True: expected False (only C order is supported)");
  if (shape->kind != Value::Tuple)
    fail(name, "header field 'shape' is not a tuple: expected a tuple of dimensions");
  if (shape->tuple.size() > 64)
    fail(name, "header field 'shape' has " + std::to_string(shape->tuple.size()) +
                   " dimensions: expected at most 64");
  h.shape = std::move(shape->tuple);
  return h;
}

// Checks the data size against the shape before anything is allocated.
uint64_t expected_data_bytes(const Header& h, uint64_t available, const std::string& name) {
  const uint64_t item = h.f64 ? 8 : 4;
  const std::string descr = h.f64 ? "'<f8'" : "'<f4'";
  uint64_t count = 0;
  try {
    count = element_count(h.shape);
  } catch (const std::overflow_error&) {
    fail(name, "header field 'shape' is " + shape_string(h.shape) +
                   ": its element count overflows 64 bits");
  }
  if (count > std::numeric_limits<uint64_t>::max() / item || count * item > available)
    fail(name, "header field 'shape' is " + shape_string(h.shape) + " (" + std::to_string(count) +
                   " elements of " + descr + ") but only " + std::to_string(available) +
                   " data bytes follow the header: expected " +
                   (count > std::numeric_limits<uint64_t>::max() / item
                        ? std::string("a byte count below 2^64")
                        : std::to_string(count * item) + " bytes (file truncated?)"));
  const uint64_t bytes = count * item;
  if (bytes != available)
    fail(name, "data is " + std::to_string(available) + " bytes: expected " +
                   std::to_string(bytes) + " bytes for shape " + shape_string(h.shape) + " of " +
                   descr + " (trailing bytes after the array)");
  return bytes;
}

void decode_data(const uint8_t* src, const Header& h, NpyArray& out) {
  const size_t n = out.data.size();
  if (n == 0) return;  // memcpy must not see the null data() of an empty vector
  if (!h.f64) {
    std::memcpy(out.data.data(), src, n * 4);
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    double d;
    std::memcpy(&d, src + 8 * i, 8);
    out.data[i] = static_cast<float>(d);  // round to nearest
  }
  out.converted_from_f64 = true;
}

}  // namespace

uint64_t element_count(std::span<const uint64_t> shape) {
  uint64_t n = 1;
  for (uint64_t d : shape) {
    if (d != 0 && n > std::numeric_limits<uint64_t>::max() / d)
      throw std::overflow_error("shape element count overflows 64 bits");
    n *= d;
  }
  return n;
}

NpyArray parse_npy(std::span<const uint8_t> bytes, const std::string& name) {
  const Preamble p = parse_preamble(bytes.first(std::min<size_t>(bytes.size(), 12)), bytes.size(),
                                    name);
  const Header h = parse_header_text(
      std::string_view(reinterpret_cast<const char*>(bytes.data()) + p.offset, p.length), name);
  const uint64_t start = uint64_t(p.offset) + p.length;
  const uint64_t data_bytes = expected_data_bytes(h, bytes.size() - start, name);
  NpyArray out;
  out.shape = h.shape;
  out.data.resize(data_bytes / (h.f64 ? 8 : 4));
  decode_data(bytes.data() + start, h, out);
  return out;
}

NpyArray read_npy(const std::string& path) {
  std::ifstream f = open_for_reading(path);
  const uint64_t size = file_size(f, path);

  std::vector<uint8_t> head(std::min<uint64_t>(size, 12));
  read_exact(f, head.data(), head.size(), path);
  const Preamble p = parse_preamble(head, size, path);

  std::string text(p.length, '\0');
  f.seekg(p.offset);
  read_exact(f, text.data(), text.size(), path);
  const Header h = parse_header_text(text, path);

  const uint64_t start = uint64_t(p.offset) + p.length;
  const uint64_t data_bytes = expected_data_bytes(h, size - start, path);
  std::vector<uint8_t> raw(data_bytes);
  read_exact(f, raw.data(), raw.size(), path);

  NpyArray out;
  out.shape = h.shape;
  out.data.resize(data_bytes / (h.f64 ? 8 : 4));
  decode_data(raw.data(), h, out);
  return out;
}

void write_npy(const std::string& path, const NpyArray& array) {
  if (element_count(array.shape) != array.data.size())
    throw std::runtime_error(path + ": cannot write: shape " + shape_string(array.shape) +
                             " holds " + std::to_string(element_count(array.shape)) +
                             " elements but data has " + std::to_string(array.data.size()));
  // Byte for byte what numpy.save writes: keys sorted, repr(shape), then spare spaces so the
  // first axis can grow to 21 digits in place, then padding to a 64-byte boundary.
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " +
                       shape_string(array.shape) + ", }";
  if (!array.shape.empty()) header.append(21 - std::to_string(array.shape[0]).size(), ' ');
  // Version 1.0 stores the header length in 16 bits; NumPy moves to 2.0 when it does not fit.
  const bool v1 = header.size() + 1 + (64 - (10 + header.size() + 1) % 64) <= 0xffff;
  const size_t prefix = v1 ? 10 : 12;
  const size_t pad = 64 - (prefix + header.size() + 1) % 64;
  header.append(pad, ' ');
  header += '\n';

  std::string bytes(reinterpret_cast<const char*>(kMagic), 6);
  bytes += char(v1 ? 1 : 2);
  bytes += char(0);
  for (size_t i = 0; i < prefix - 8; ++i) bytes += char((header.size() >> (8 * i)) & 0xff);
  bytes += header;
  write_file_atomically(path, {{bytes.data(), bytes.size()},
                               {reinterpret_cast<const char*>(array.data.data()),
                                array.data.size() * sizeof(float)}});
}

}  // namespace lockstep::io
