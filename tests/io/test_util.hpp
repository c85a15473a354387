// Helpers shared by the lockstep_io tests: a scratch directory, raw file writing, error
// message checks, and finding a Python that has the modules a cross-check needs.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace lockstep::io::test {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("lockstep_io_" + std::to_string(::getpid()) + "_" + info->test_suite_name() + "_" +
            info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
};

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

inline void write_text(const std::string& path, const std::string& text) {
  write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// The message of the std::runtime_error `f` throws ("" plus a test failure if none).
inline std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-runtime_error: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected a std::runtime_error, nothing was thrown";
  return "";
}

#define EXPECT_ERROR_MENTIONS(stmt, ...)                                                   \
  do {                                                                                     \
    const std::string msg_ = ::lockstep::io::test::error_message([&] { stmt; });           \
    for (const char* part_ : std::initializer_list<const char*>{__VA_ARGS__})              \
      EXPECT_NE(msg_.find(part_), std::string::npos)                                       \
          << "error message lacks \"" << part_ << "\": " << msg_;                          \
  } while (0)

// An interpreter that can import `modules` (e.g. "numpy, PIL"), trying $LOCKSTEP_PYTHON,
// python3 on PATH and /usr/bin/python3 (pyenv shims may lack Debian's python3-numpy).
inline std::optional<std::string> find_python(const std::string& modules) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("LOCKSTEP_PYTHON"); env && *env) candidates.push_back(env);
  candidates.push_back("python3");
  candidates.push_back("/usr/bin/python3");
  for (const std::string& py : candidates) {
    const std::string cmd = py + " -c 'import " + modules + "' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return std::nullopt;
}

// Runs `python script args` and fails the test (with the command) if it does not exit 0.
inline bool run_python(const std::string& python, const std::string& script_path,
                       const std::string& args) {
  const std::string cmd = python + " " + script_path + " " + args;
  const int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << "command failed: " << cmd;
  return rc == 0;
}

}  // namespace lockstep::io::test
