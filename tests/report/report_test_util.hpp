// Helpers for the lockstep_report tests: result files written with io::write_safetensors (no
// device needed), byte-level damage to copies of them, a scratch directory, and capturing what
// a CLI entry point prints.
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "io/result_file.hpp"
#include "report/result_reader.hpp"

namespace lockstep::report::test {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("lockstep_report_" + std::to_string(::getpid()) + "_" +
                                        info->test_suite_name() + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

inline void write_text(const std::string& path, const std::string& text) {
  write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

// The metadata `lockstep run --save` writes (tools/cmd_run.cpp), with overrides.
inline std::map<std::string, std::string> run_metadata(const std::map<std::string, std::string>& overrides = {}) {
  std::map<std::string, std::string> m = {
      {"format", "lockstep-result-1"},
      {"engine", "lockstep 0.1.0"},
      {"device.name", "llvmpipe (LLVM 15.0.6, 256 bits)"},
      {"device.vendor", "Mesa"},
      {"device.driver", "llvmpipe Mesa 22.3.6"},
      {"device.uuid", "6d657361-3232-2e33-2e36-000000000000"},
      {"device.subgroup_size", "8"},
      {"order", "fixed"},
      {"contract", "muladd"},
      {"denormals", "preserve"},
      {"model", "resnet50/keras/64"},
      {"weights", "random:1"},
      {"weights.xxh3_128", "0123456789abcdef0123456789abcdef"},
      {"input.xxh3_128", "fedcba9876543210fedcba9876543210"},
      {"preprocess", "keras"},
      {"dropout", "off"},
  };
  for (const auto& [k, v] : overrides) {
    if (v == "<erase>") m.erase(k);
    else m[k] = v;
  }
  return m;
}

// A small "network": three layers and the output, with negatives, zeros, a denormal, large
// values. `salt` changes the values.
inline std::vector<io::ResultTensor> sample_tensors(uint32_t salt = 0) {
  auto fill = [&](uint64_t n, uint32_t k) {
    std::vector<float> v(n);
    for (uint64_t i = 0; i < n; ++i) {
      const uint32_t h = uint32_t(i * 2654435761u + (k + salt) * 40503u);
      v[i] = (float(h % 20011u) - 10000.0f) / 997.0f;
    }
    if (n > 3) {
      v[1] = 0.0f;
      v[2] = -0.0f;
      v[3] = std::bit_cast<float>(0x00000123u);  // a denormal
    }
    return v;
  };
  std::vector<io::ResultTensor> t;
  t.push_back({"output", {2, 10}, fill(20, 9)});  // written first, as cmd_run does
  t.push_back({"layer.0.conv1", {2, 4, 5, 5}, fill(200, 0)});
  t.push_back({"layer.1.conv1_relu", {2, 4, 5, 5}, fill(200, 1)});
  t.push_back({"layer.2.pool", {2, 4, 2, 2}, fill(32, 2)});
  t.push_back({"layer.10.predictions", {2, 10}, fill(20, 3)});
  return t;
}

// Writes a self-consistent result file: every tensor gets its fingerprint.
inline void write_result(const std::string& path, const std::vector<io::ResultTensor>& tensors,
                         std::map<std::string, std::string> meta) {
  for (const auto& t : tensors) meta[t.name + ".xxh3_128"] = xxh3_128_hex(t.data.data(), t.data.size() * 4);
  io::write_safetensors(path, tensors, meta);
}

inline void write_result(const std::string& path, const std::map<std::string, std::string>& overrides = {}) {
  write_result(path, sample_tensors(), run_metadata(overrides));
}

// Where a tensor's bytes start in a safetensors file, and its header, parsed independently of
// the reader under test.
struct RawLayout {
  uint64_t header_len = 0;
  nlohmann::json header;
  uint64_t data_start() const { return 8 + header_len; }
};

inline RawLayout raw_layout(const std::vector<uint8_t>& bytes) {
  RawLayout l;
  for (int i = 7; i >= 0; --i) l.header_len = (l.header_len << 8) | bytes.at(size_t(i));
  l.header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + std::ptrdiff_t(l.header_len));
  return l;
}

// Copies `src` to `dst` with one bit of one element of one tensor flipped. With
// `update_fingerprint` the tensor's fingerprint in the header is replaced by the hash of the
// damaged data (same length, so the header length stays), making the copy self-consistent:
// exactly what a device that computed one bit differently would have written.
inline void flip_bit(const std::string& src, const std::string& dst, const std::string& tensor, uint64_t element,
                     int bit, bool update_fingerprint) {
  std::vector<uint8_t> bytes = read_bytes(src);
  const RawLayout l = raw_layout(bytes);
  const auto& entry = l.header.at(tensor);
  const uint64_t begin = entry.at("data_offsets")[0].get<uint64_t>();
  const uint64_t end = entry.at("data_offsets")[1].get<uint64_t>();
  const uint64_t at = l.data_start() + begin + element * 4;
  ASSERT_LT(begin + element * 4, end);
  uint32_t v;
  std::memcpy(&v, &bytes[at], 4);
  v ^= 1u << bit;
  std::memcpy(&bytes[at], &v, 4);
  if (update_fingerprint) {
    const std::string old_hash = l.header.at("__metadata__").at(tensor + ".xxh3_128").get<std::string>();
    const std::string new_hash = xxh3_128_hex(&bytes[l.data_start() + begin], end - begin);
    std::string header(bytes.begin() + 8, bytes.begin() + 8 + std::ptrdiff_t(l.header_len));
    const size_t pos = header.find("\"" + old_hash + "\"");
    ASSERT_NE(pos, std::string::npos);
    ASSERT_EQ(header.find("\"" + old_hash + "\"", pos + 1), std::string::npos) << "fingerprint not unique";
    header.replace(pos + 1, old_hash.size(), new_hash);
    std::copy(header.begin(), header.end(), bytes.begin() + 8);
  }
  write_bytes(dst, bytes);
}

// A file from a raw header text and data bytes (for malformed-header tests).
inline std::vector<uint8_t> safetensors_bytes(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(8);
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[size_t(i)] = uint8_t(n >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// The message of the ResultFileError `f` throws ("" plus a test failure if none).
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ResultFileError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw something other than ResultFileError: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected a ResultFileError, nothing was thrown";
  return "";
}

#define EXPECT_MENTIONS(msg, ...)                                                              \
  do {                                                                                         \
    const std::string m_ = (msg);                                                              \
    /* std::string elements: the arguments may be temporaries (path(...).c_str()) */          \
    for (const std::string& part_ : std::initializer_list<std::string>{__VA_ARGS__})           \
      EXPECT_NE(m_.find(part_), std::string::npos) << "message lacks \"" << part_ << "\": " << m_; \
  } while (0)

// Runs f, returning what it printed to stdout and stderr.
struct Captured {
  int rc = 0;
  std::string out, err;
};
inline Captured capture(const std::function<int()>& f) {
  Captured c;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  c.rc = f();
  std::fflush(stdout);
  std::fflush(stderr);
  c.out = ::testing::internal::GetCapturedStdout();
  c.err = ::testing::internal::GetCapturedStderr();
  return c;
}

// An interpreter that can import `modules`: $LOCKSTEP_PYTHON, /usr/bin/python3 (Debian's, which
// has python3-numpy when installed), python3 on PATH.
inline std::optional<std::string> find_python(const std::string& modules) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("LOCKSTEP_PYTHON"); env && *env) candidates.push_back(env);
  candidates.push_back("/usr/bin/python3");
  candidates.push_back("python3");
  for (const std::string& py : candidates) {
    const std::string cmd = py + " -c 'import " + modules + "' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return std::nullopt;
}

}  // namespace lockstep::report::test
