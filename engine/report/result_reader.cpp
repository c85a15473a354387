#include "report/result_reader.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>
#include <xxh3.h>

#include "io/file_util.hpp"

static_assert(std::endian::native == std::endian::little, "result files hold little-endian float32");

namespace lockstep::report {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw ResultFileError(name + ": " + what);
}

// What a file that is not a safetensors result file most likely is, from its first bytes.
std::string sniff(const uint8_t* p, size_t n) {
  auto starts = [&](std::string_view magic) {
    return n >= magic.size() && std::memcmp(p, magic.data(), magic.size()) == 0;
  };
  if (starts("\x89PNG\r\n\x1a\n")) return "it looks like a PNG image";
  if (starts("\xff\xd8\xff")) return "it looks like a JPEG image";
  if (starts("GIF87a") || starts("GIF89a")) return "it looks like a GIF image";
  if (starts("BM")) return "it may be a BMP image";
  if (starts("\x93NUMPY")) return "it looks like a NumPy .npy file";
  if (starts("PK\x03\x04")) return "it looks like a ZIP archive (.npz, .pt, .keras?)";
  if (starts("\x89HDF\r\n\x1a\n")) return "it looks like an HDF5 file (Keras .h5?)";
  if (starts("\x1f\x8b")) return "it looks like a gzip file";
  const size_t k = std::min<size_t>(n, 64);
  size_t printable = 0;
  for (size_t i = 0; i < k; ++i)
    printable += (p[i] >= 0x20 && p[i] < 0x7f) || p[i] == '\n' || p[i] == '\r' || p[i] == '\t';
  if (k > 0 && printable == k) return "it looks like a text file";
  return "";
}

std::string with_sniff(const std::string& msg, const uint8_t* p, size_t n) {
  const std::string s = sniff(p, n);
  return s.empty() ? msg : msg + " (" + s + ")";
}

// Deepest nesting of objects and arrays, strings skipped: refuses absurd headers before parsing.
uint64_t nesting_depth(std::string_view text) {
  uint64_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

std::string named(std::string_view s) {
  // Names from the file, shortened for messages (the whole name could be 100 MB).
  std::string out = "'";
  out += s.size() > 200 ? std::string(s.substr(0, 200)) + "..." : std::string(s);
  return out + "'";
}

std::string shape_text(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool is_hex128(const std::string& s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return s;
}

struct Entry {
  std::string name;
  std::vector<uint64_t> shape;
  uint64_t count = 0;  // elements
  uint64_t begin = 0, end = 0;
};

struct Header {
  std::map<std::string, std::string> metadata;
  std::vector<Entry> entries;  // sorted by begin: the order of the data section
};

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Checks the 8 length bytes against the file size; returns the header length.
uint64_t check_prefix(const uint8_t* first, size_t first_len, uint64_t file_size, const std::string& name,
                      const ReadLimits& limits) {
  if (file_size == 0) fail(name, "the file is empty (0 bytes): not a lockstep result file (safetensors)");
  if (file_size < 8)
    fail(name, with_sniff("the file is " + std::to_string(file_size) +
                              " bytes long, too short for a safetensors result file (an 8-byte header length, a JSON "
                              "header, then the tensors): truncated or not a result file",
                          first, first_len));
  if (file_size > limits.max_file_bytes)
    fail(name, "the file is " + std::to_string(file_size) + " bytes, more than the limit of " +
                   std::to_string(limits.max_file_bytes) + " bytes for a result file");
  const uint64_t n = read_u64_le(first);
  const uint64_t rest = file_size - 8;
  const bool json_like = first_len > 8 && first[8] == '{';
  if (n > rest) {
    if ((json_like || rest == 0) && n <= limits.max_header_bytes)
      fail(name, "the file is truncated: its header length says " + std::to_string(n) + " bytes of JSON, but only " +
                     std::to_string(rest) + " bytes follow");
    fail(name, with_sniff("not a safetensors result file: its first 8 bytes give a header length of " +
                              std::to_string(n) + " bytes, but the file holds only " + std::to_string(rest) +
                              " bytes after them",
                          first, first_len));
  }
  if (n > limits.max_header_bytes)
    fail(name, "the header length is " + std::to_string(n) + " bytes, more than the limit of " +
                   std::to_string(limits.max_header_bytes) + ": not a result file");
  if (n < 2) fail(name, with_sniff("not a safetensors result file: header length " + std::to_string(n), first, first_len));
  if (first_len > 8 && first[8] != '{')
    fail(name, with_sniff("not a safetensors result file: the header does not start with '{'", first, first_len));
  return n;
}

Header parse_header(std::string_view text, uint64_t data_size, const std::string& name, const ReadLimits& limits) {
  if (text.empty() || text.front() != '{')
    fail(name, "not a safetensors result file: the header does not start with '{'");
  if (nesting_depth(text) > limits.max_json_depth)
    fail(name, "the JSON header nests deeper than " + std::to_string(limits.max_json_depth) +
                   " levels: not a result file");

  // Duplicate keys would let one tensor or fingerprint hide another: refuse them at any depth.
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  json::parser_callback_t cb = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) keys.emplace_back();
    else if (event == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
    else if (event == json::parse_event_t::key && !keys.empty() && parsed.is_string() && duplicate.empty()) {
      if (!keys.back().insert(parsed.get<std::string>()).second) duplicate = parsed.get<std::string>();
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    fail(name, std::string("the header is not valid JSON: ") + e.what());
  }
  if (!duplicate.empty()) fail(name, "the header repeats the key " + named(duplicate));
  if (!header.is_object()) fail(name, "the header is not a JSON object");

  Header h;
  // Lockstep's metadata first: a foreign safetensors file is named as such, whatever it holds.
  if (header.contains("__metadata__")) {
    const json& meta = header["__metadata__"];
    if (!meta.is_object()) fail(name, "\"__metadata__\" is not an object of strings");
    for (const auto& [mk, mv] : meta.items()) {
      if (!mv.is_string()) fail(name, "metadata " + named(mk) + " is not a string");
      h.metadata.emplace(mk, mv.get<std::string>());
    }
  }
  if (!header.contains("__metadata__"))
    fail(name, "a safetensors file without metadata, not a lockstep result file (no \"format\": \"" +
                   std::string(kResultFormat) + "\")");
  const auto format = h.metadata.find("format");
  if (format == h.metadata.end())
    fail(name, "a safetensors file, but not a lockstep result file: its metadata has no \"format\" (expected \"" +
                   std::string(kResultFormat) + "\")");
  if (format->second != kResultFormat)
    fail(name, "not a lockstep result file of a known format: metadata \"format\" is " + named(format->second) +
                   ", expected \"" + std::string(kResultFormat) + "\"");
  for (std::string_view key : kRequiredMetadata)
    if (!h.metadata.count(std::string(key)))
      fail(name, "a lockstep result file without the metadata \"" + std::string(key) + "\"");
  try {
    parse_order(h.metadata["order"]);
    parse_contract(h.metadata["contract"]);
    parse_denorm(h.metadata["denormals"]);
  } catch (const std::invalid_argument& e) {
    fail(name, std::string("metadata: ") + e.what());
  }

  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") continue;
    if (h.entries.size() >= limits.max_tensors)
      fail(name, "more than " + std::to_string(limits.max_tensors) + " tensors");
    const std::string t = "tensor " + named(key);
    if (key.empty()) fail(name, "a tensor has an empty name");
    if (!value.is_object()) fail(name, t + " is not described by an object");
    for (const auto& [field, v] : value.items()) {
      (void)v;
      if (field != "dtype" && field != "shape" && field != "data_offsets")
        fail(name, t + " has an unexpected field " + named(field));
    }
    if (!value.contains("dtype") || !value.contains("shape") || !value.contains("data_offsets"))
      fail(name, t + " lacks one of \"dtype\", \"shape\", \"data_offsets\"");
    const json& dtype = value["dtype"];
    if (!dtype.is_string()) fail(name, t + ": \"dtype\" is not a string");
    if (dtype.get<std::string>() != "F32")
      fail(name, t + " has dtype " + named(dtype.get<std::string>()) + ": lockstep result files hold F32 only");

    Entry e;
    e.name = key;
    const json& shape = value["shape"];
    if (!shape.is_array()) fail(name, t + ": \"shape\" is not an array");
    if (shape.size() > limits.max_rank)
      fail(name, t + " has " + std::to_string(shape.size()) + " dimensions, more than " +
                     std::to_string(limits.max_rank));
    uint64_t count = 1;
    bool overflow = false;
    for (const json& d : shape) {
      if (!d.is_number_unsigned()) fail(name, t + ": a dimension of \"shape\" is not a non-negative integer");
      const uint64_t v = d.get<uint64_t>();
      e.shape.push_back(v);
      if (v != 0 && count > UINT64_MAX / v) overflow = true;
      else count *= v;
    }
    if (overflow || count > UINT64_MAX / 4)
      fail(name, t + " has shape " + shape_text(e.shape) + ", too many elements to exist");
    bool empty = false;
    for (uint64_t d : e.shape) empty |= d == 0;
    e.count = empty ? 0 : count;

    const json& off = value["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      fail(name, t + ": \"data_offsets\" is not a pair of non-negative integers");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.begin > e.end)
      fail(name, t + " has data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                     "]: the end comes before the beginning");
    if (e.end > data_size)
      fail(name, t + " needs bytes [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                     ") of the data section, but the file holds only " + std::to_string(data_size) +
                     " bytes of data: the file is truncated");
    if (e.end - e.begin != e.count * 4)
      fail(name, t + " has shape " + shape_text(e.shape) + " (" + std::to_string(e.count * 4) +
                     " bytes of F32) but data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                     "] span " + std::to_string(e.end - e.begin) + " bytes");
    h.entries.push_back(std::move(e));
  }

  std::sort(h.entries.begin(), h.entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  uint64_t expected = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : h.entries) {
    if (e.begin < expected)
      fail(name, "tensors " + named(prev->name) + " and " + named(e.name) + " overlap in the data section");
    if (e.begin > expected)
      fail(name, "bytes [" + std::to_string(expected) + ", " + std::to_string(e.begin) +
                     ") of the data section belong to no tensor");
    expected = e.end;
    prev = &e;
  }
  if (expected != data_size)
    fail(name, std::to_string(data_size - expected) + " bytes at the end of the file belong to no tensor");

  if (h.entries.empty()) fail(name, "a lockstep result file without tensors (not even \"output\")");
  for (const Entry& e : h.entries) {
    const auto it = h.metadata.find(e.name + ".xxh3_128");
    if (it == h.metadata.end())
      fail(name, "tensor " + named(e.name) + " has no fingerprint (metadata \"" + e.name + ".xxh3_128\")");
    if (!is_hex128(it->second))
      fail(name, "tensor " + named(e.name) + ": its fingerprint " + named(it->second) +
                     " is not 32 hex digits");
  }
  return h;
}

// Fills the tensors from the data section (read in offset order by `read`), verifies every
// fingerprint and puts the tensors in report order.
ResultFile finish(Header&& h, const std::string& name,
                  const std::function<void(uint64_t begin, void* dst, uint64_t bytes)>& read) {
  ResultFile r;
  r.path = name;
  r.metadata = std::move(h.metadata);
  r.tensors.reserve(h.entries.size());
  for (Entry& e : h.entries) {
    Tensor t;
    t.name = std::move(e.name);
    t.shape = std::move(e.shape);
    t.data.resize(e.count);
    read(e.begin, t.data.data(), e.count * 4);
    t.xxh3_128 = xxh3_128_hex(t.data.data(), e.count * 4);
    const std::string& recorded = r.metadata.at(t.name + ".xxh3_128");
    if (lower(recorded) != t.xxh3_128)
      fail(name, "tensor " + named(t.name) + " does not match its XXH3-128 fingerprint (recorded " + recorded +
                     ", the data hashes to " + t.xxh3_128 + "): the file was altered or damaged after it was written");
    r.tensors.push_back(std::move(t));
  }
  std::sort(r.tensors.begin(), r.tensors.end(),
            [](const Tensor& a, const Tensor& b) { return tensor_order(a.name, b.name); });
  return r;
}

}  // namespace

const Tensor* ResultFile::find(std::string_view name) const {
  for (const Tensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

const std::string& ResultFile::meta(const std::string& key) const {
  static const std::string empty;
  const auto it = metadata.find(key);
  return it == metadata.end() ? empty : it->second;
}

NumericMode ResultFile::mode() const {
  return NumericMode{parse_order(meta("order")), parse_contract(meta("contract")), parse_denorm(meta("denormals"))};
}

std::string xxh3_128_hex(const void* data, size_t bytes) {
  static const char zero = 0;
  const XXH128_hash_t h = XXH3_128bits(bytes ? data : &zero, bytes);
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

std::optional<uint64_t> layer_index(std::string_view n) {
  constexpr std::string_view prefix = "layer.";
  if (n.substr(0, prefix.size()) != prefix) return std::nullopt;
  n.remove_prefix(prefix.size());
  const size_t dot = n.find('.');
  if (dot == 0 || dot == std::string_view::npos) return std::nullopt;
  uint64_t v = 0;
  const auto [p, ec] = std::from_chars(n.data(), n.data() + dot, v);
  if (ec != std::errc() || p != n.data() + dot) return std::nullopt;
  return v;
}

bool tensor_order(std::string_view a, std::string_view b) {
  const auto la = layer_index(a), lb = layer_index(b);
  const int ra = la ? 0 : a == "output" ? 1 : 2;
  const int rb = lb ? 0 : b == "output" ? 1 : 2;
  if (ra != rb) return ra < rb;
  if (la && lb && *la != *lb) return *la < *lb;
  return a < b;
}

ResultFile parse_result_bytes(const uint8_t* data, size_t size, const std::string& name, const ReadLimits& limits) {
  const uint64_t n = check_prefix(data, size, size, name, limits);
  const std::string_view text(reinterpret_cast<const char*>(data) + 8, n);
  const uint64_t data_start = 8 + n;
  Header h = parse_header(text, size - data_start, name, limits);
  return finish(std::move(h), name, [&](uint64_t begin, void* dst, uint64_t bytes) {
    if (bytes) std::memcpy(dst, data + data_start + begin, bytes);
  });
}

ResultFile read_result_file(const std::string& path, const ReadLimits& limits) {
  try {
    std::ifstream f = io::open_for_reading(path);
    const uint64_t size = io::file_size(f, path);
    uint8_t first[72] = {};  // the length, and enough of what follows to recognise a format
    const size_t first_len = static_cast<size_t>(std::min<uint64_t>(size, sizeof first));
    io::read_exact(f, first, first_len, path);
    const uint64_t n = check_prefix(first, first_len, size, path, limits);
    std::string text(n, '\0');  // n <= the file size and <= max_header_bytes: checked above
    f.seekg(8);
    io::read_exact(f, text.data(), n, path);
    const uint64_t data_start = 8 + n;
    Header h = parse_header(text, size - data_start, path, limits);
    uint64_t pos = data_start;
    f.seekg(static_cast<std::streamoff>(pos));
    return finish(std::move(h), path, [&](uint64_t begin, void* dst, uint64_t bytes) {
      // Entries come in offset order with no gaps, so this is a sequential read.
      if (data_start + begin != pos) {
        pos = data_start + begin;
        f.seekg(static_cast<std::streamoff>(pos));
      }
      io::read_exact(f, dst, bytes, path);
      pos += bytes;
    });
  } catch (const ResultFileError&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw ResultFileError(path + ": not enough memory to read the result file");
  } catch (const std::runtime_error& e) {
    throw ResultFileError(e.what());  // io helpers: the message already starts with the path
  }
}

}  // namespace lockstep::report
