// The child process that parses Keras files (engine/keras/keras_h5_isolation.cpp): every input
// that ever crashed, hung or exhausted memory in libhdf5 or in our name matching comes back as a
// std::runtime_error naming the file, the process survives, and net.params is untouched; the
// failures libhdf5 has are also injected on demand (LOCKSTEP_FAULT points h5.crash, h5.hang,
// h5.oom), so that each branch of the parent's handling runs in every build.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>

#include "fuzz_networks.hpp"
#include "keras/keras_h5.hpp"
#include "util/fault.hpp"
#include "util/interrupt.hpp"

namespace lockstep::keras::test {
namespace {

namespace fs = std::filesystem;
const fs::path kRegressions = fs::path(LOCKSTEP_FUZZ_DIR) / "regressions" / "keras_h5";
const fs::path kCorpus = fs::path(LOCKSTEP_FUZZ_DIR) / "corpus" / "keras_h5";

// The error of loading `path` into the fuzz targets' network, or "" when it loaded.
std::string load_error(const fs::path& path, const LoadOptions& o = {}) {
  graph::Network net = fuzz::keras_network();
  try {
    load_keras_weights(net, path.string(), nullptr, o);
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(net.params.empty()) << path << ": parameters changed by a failed load";
    return e.what();
  }
  return "";
}

class FaultScope {
 public:
  explicit FaultScope(const std::string& spec) { fault::configure(spec); }
  ~FaultScope() { fault::configure(""); }
};

TEST(KerasIsolation, EveryRegressionInputIsAnErrorNamingTheFile) {
  ASSERT_TRUE(fs::is_directory(kRegressions)) << kRegressions;
  int files = 0;
  for (const auto& e : fs::directory_iterator(kRegressions)) {
    SCOPED_TRACE(e.path().filename().string());
    LoadOptions o;
    o.cpu_seconds = 4;  // the H5HG_read timeout input spins until killed
    const auto t0 = std::chrono::steady_clock::now();
    const std::string error = load_error(e.path(), o);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++files;
    ASSERT_FALSE(error.empty()) << "loaded without error";
    EXPECT_EQ(error.rfind("keras weights '" + e.path().string() + "': ", 0), 0u) << error;
    EXPECT_LT(s, 3 * o.cpu_seconds + 10.0);
    // Long names make long messages: their start and end.
    std::printf("[ isolation ] %s (%.1f s): %.160s%s\n", e.path().filename().c_str(), s, error.c_str(),
                error.size() > 320 ? (" ... " + error.substr(error.size() - 160)).c_str() : error.c_str() + std::min<size_t>(160, error.size()));
  }
  EXPECT_GE(files, 8);
}

TEST(KerasIsolation, LongLegacyLayerNameIsRefusedNotOverflowed) {
  // 100,000 characters that look like a legacy ResNet name (std::regex overflowed the stack).
  const std::string error = load_error(kRegressions / "long_legacy_layer_name.h5");
  const std::string tail = error.substr(error.size() > 300 ? error.size() - 300 : 0);
  EXPECT_NE(error.find("has no counterpart"), std::string::npos) << tail;
  EXPECT_EQ(error.find("the HDF5 library failed"), std::string::npos) << tail;
}

TEST(KerasIsolation, TheSameFilesLoadInAndOutOfTheChild) {
  // A valid file: the parameters that come over the pipe are the ones read in-process.
  graph::Network a = fuzz::keras_network(), b = fuzz::keras_network();
  const std::string path = (kCorpus / "modern.h5").string();
  load_keras_weights(a, path, nullptr);
  LoadOptions in_process;
  in_process.isolate = false;
  load_keras_weights(b, path, nullptr, in_process);
  ASSERT_FALSE(a.params.empty());
  EXPECT_EQ(a.params, b.params);
  // And an error of the loader itself comes back word for word.
  const std::string bad = (kCorpus / "bad_kernel_shape.h5").string();
  EXPECT_EQ(load_error(bad), load_error(bad, in_process));
}

TEST(KerasIsolation, ACrashInTheParserIsAnError) {
  FaultScope f("h5.crash");
  const std::string error = load_error(kCorpus / "modern.h5");
  EXPECT_NE(error.find("the HDF5 library failed on this file (corrupt or malicious)"), std::string::npos) << error;
  EXPECT_NE(error.find("killed by signal " + std::to_string(SIGSEGV)), std::string::npos) << error;
}

TEST(KerasIsolation, AHangIsStoppedByTheCpuLimit) {
  FaultScope f("h5.hang");
  LoadOptions o;
  o.cpu_seconds = 1;
  const auto t0 = std::chrono::steady_clock::now();
  const std::string error = load_error(kCorpus / "modern.h5", o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(error.find("the HDF5 library failed"), std::string::npos) << error;
  EXPECT_NE(error.find("more than its 1 s of CPU time"), std::string::npos) << error;
  EXPECT_LT(s, 13.0);
}

TEST(KerasIsolation, AHangIsStoppedByTheWallClockToo) {
  FaultScope f("h5.hang");
  LoadOptions o;
  o.cpu_seconds = 100;
  o.wall_seconds = 1;
  const std::string error = load_error(kCorpus / "modern.h5", o);
  EXPECT_NE(error.find("did not finish within 1 s"), std::string::npos) << error;
}

TEST(KerasIsolation, RunawayMemoryIsStoppedByTheAddressSpaceLimit) {
  FaultScope f("h5.oom");
  LoadOptions o;
  o.memory_bytes = uint64_t(256) << 20;
  const std::string error = load_error(kCorpus / "modern.h5", o);
  // The child reports bad_alloc itself, or (under AddressSanitizer, which aborts instead) dies.
  EXPECT_NE(error.find("256 MiB"), std::string::npos) << error;
}

TEST(KerasIsolation, AnInterruptStopsTheChildAndUnwinds) {
  FaultScope f("h5.hang");
  interrupt::set_requested_for_testing(SIGINT);
  graph::Network net = fuzz::keras_network();
  EXPECT_THROW(load_keras_weights(net, (kCorpus / "modern.h5").string(), nullptr), interrupt::Interrupted);
  interrupt::set_requested_for_testing(0);
  EXPECT_TRUE(net.params.empty());
}

}  // namespace
}  // namespace lockstep::keras::test
