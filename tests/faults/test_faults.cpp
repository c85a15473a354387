// Faults, through the CLI binary (tests/faults/cli_runner.hpp): out of device memory, a lost
// device, a fence timeout, a full disk (results, exports, the pipeline cache), missing and
// unreadable files, an interrupt (SIGINT/SIGTERM), a network too large for the device. Each must
// give a clear message and a non-zero exit, leave no result file and no temporary behind, and
// leak nothing: these tests run under the Khronos validation layer (whose object-lifetime checks
// report every Vulkan object not destroyed: no "[vulkan validation" line may appear) and, in
// scripts/sanitize.sh, under LeakSanitizer (a leak changes the exit status). The faults are
// injected with LOCKSTEP_FAULT (engine/util/fault.hpp) at the very calls that fail in real life,
// or made real where the system allows it (/dev/full, a 1 ms fence timeout, a real signal).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "graph/reference_forward.hpp"
#include "models/models.hpp"

namespace lockstep::test {
namespace {

namespace fs = std::filesystem;

// A small network that still runs every kind of layer: ~1 s per run on lavapipe.
const std::vector<std::string> kRun = {"run", "--device", "0", "--model", "resnet18", "--layout", "torch",
                                       "--input-size", "32"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

class Faults : public ::testing::Test {
 public:
  fs::path dir_;
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lockstep-faults-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // What every failed run must satisfy: the status, the message, no validation message (no
  // Vulkan object leaked), and nothing in the scratch directory but `allowed`.
  void expect_clean_failure(const CliResult& r, int exit_code, const std::vector<std::string>& message,
                            const std::vector<std::string>& allowed = {}) {
    EXPECT_EQ(r.signal, 0) << "killed by signal " << r.signal << "\n" << r.output;
    EXPECT_EQ(r.exit_code, exit_code) << r.output;
    for (const auto& m : message) EXPECT_NE(r.output.find(m), std::string::npos) << "no '" << m << "' in:\n" << r.output;
    EXPECT_EQ(r.output.find("[vulkan validation"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("Sanitizer"), std::string::npos) << r.output;
    for (const auto& e : fs::recursive_directory_iterator(dir_)) {
      const std::string name = e.path().filename().string();
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end() && !e.is_directory())
        ADD_FAILURE() << "left behind: " << e.path();
    }
  }
};

// The last line that starts with "lockstep:": the message the user sees.
std::string message_of(const std::string& out) {
  const auto at = out.rfind("lockstep: ");
  return at == std::string::npos ? out : out.substr(at, out.find('\n', at) - at);
}

// Runs `args` with LOCKSTEP_FAULT=point@N for N = 1, 2, 4, 8, ... until a run succeeds (every
// pass of the point then came before the fault); with `bisect`, then finds the last pass by
// bisection and fails that one and the one before it too: the late steps of a run (the network's own
// submission, the download of its output, the result file) are reached as well as the early
// ones. Each failing run is checked; their messages are returned, so that a fault never reached
// cannot pass as a fault handled.
std::vector<std::string> sweep(Faults& t, const std::string& point, const std::vector<std::string>& args,
                               int exit_code, const std::vector<std::string>& message, bool bisect) {
  std::vector<std::string> messages;
  auto attempt = [&](int n) {
    const CliResult r = run_cli(args, {{{"LOCKSTEP_FAULT", point + "@" + std::to_string(n)}}});
    if (r.exit_code == 0) {
      for (const auto& e : fs::directory_iterator(t.dir_)) fs::remove_all(e.path());  // its result file
      return true;
    }
    SCOPED_TRACE(point + "@" + std::to_string(n));
    std::printf("[ faults ] %s@%d -> exit %d: %s\n", point.c_str(), n, r.exit_code, message_of(r.output).c_str());
    t.expect_clean_failure(r, exit_code, message);
    messages.push_back(message_of(r.output));
    return false;
  };
  int n = 1;
  while (!attempt(n)) {
    if (n > 1 << 14) {
      ADD_FAILURE() << point << ": the run never succeeded";
      return messages;
    }
    n *= 2;
  }
  if (!bisect) {
    std::printf("[ faults ] %s: runs with the fault at @%d succeed\n", point.c_str(), n);
    return messages;
  }
  int lo = n / 2, hi = n;  // lo fails (or is 0), hi succeeds
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    (attempt(mid) ? hi : lo) = mid;
  }
  if (lo > 1) attempt(lo - 1);
  std::printf("[ faults ] %s: %d passes in a run; runs with the fault at @%d or later succeed\n", point.c_str(), lo, hi);
  return messages;
}

bool any_mentions(const std::vector<std::string>& messages, const std::string& what) {
  for (const auto& m : messages)
    if (m.find(what) != std::string::npos) return true;
  return false;
}

TEST_F(Faults, OutOfDeviceMemoryAtEveryStage) {
  const auto args = with(kRun, {"--save", path("out.safetensors")});
  // Allocations: the probe's, the weights', the activations', the staging buffers of each transfer.
  const auto m = sweep(*this, "vk.alloc", args, 2, {"VK_ERROR_OUT_OF_DEVICE_MEMORY", "bytes of"}, false);
  EXPECT_GE(m.size(), 6u);
  EXPECT_TRUE(any_mentions(m, "host-visible staging")) << "no staging buffer failed";
}

TEST_F(Faults, DeviceLostAtSubmit) {
  const auto args = with(kRun, {"--save", path("out.safetensors")});
  const auto m = sweep(*this, "vk.submit", args, 2, {"VK_ERROR_DEVICE_LOST", "was lost during", "no result of this run"}, true);
  EXPECT_GE(m.size(), 6u);
  EXPECT_TRUE(any_mentions(m, "lost during a compute sequence")) << "the network's own submission was not reached";
}

TEST_F(Faults, DeviceLostWhileWaiting) {
  const auto args = with(kRun, {"--save", path("out.safetensors")});
  EXPECT_GE(sweep(*this, "vk.wait", args, 2, {"vkWaitForFences failed: VK_ERROR_DEVICE_LOST"}, false).size(), 5u);
}

TEST_F(Faults, ChildrenRunUnderTheValidationLayer) {
  // The no-validation-message checks of every test mean something only if the layer is on.
  const char* v = std::getenv("LOCKSTEP_VALIDATION");
  ASSERT_TRUE(v && std::string(v) == "sync") << "LOCKSTEP_VALIDATION is not sync in the fault tests";
  const CliResult r = run_cli({"--device", "0", "devices", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("running without it"), std::string::npos) << "the validation layer is missing:\n" << r.output;
}

TEST_F(Faults, FenceTimeout) {
  // A real timeout: 1 ms is far less than any network takes on lavapipe.
  const CliResult r =
      run_cli(with(kRun, {"--save", path("out.safetensors")}), {{{"LOCKSTEP_FENCE_TIMEOUT_MS", "1"}}});
  std::printf("[ faults ] fence timeout 1 ms -> exit %d: %s\n", r.exit_code, message_of(r.output).c_str());
  expect_clean_failure(r, 2, {"vkWaitForFences failed: VK_TIMEOUT", "did not finish within 1 ms"});
}

TEST_F(Faults, DiskFullWritingResultsKeepsTheOldFile) {
  std::ofstream(path("out.safetensors")) << "the previous result";
  const CliResult r = run_cli(with(kRun, {"--save", path("out.safetensors")}), {{{"LOCKSTEP_FAULT", "write"}}});
  std::printf("[ faults ] write (result file) -> exit %d: %s\n", r.exit_code, message_of(r.output).c_str());
  expect_clean_failure(r, 2, {"out.safetensors: write failed: No space left on device"}, {"out.safetensors"});
  EXPECT_EQ(slurp(path("out.safetensors")), "the previous result");
}

TEST_F(Faults, RealDiskFullThroughDevFull) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  fs::create_symlink("/dev/full", path("full.safetensors"));
  const CliResult r = run_cli(with(kRun, {"--save", path("full.safetensors")}));
  std::printf("[ faults ] --save -> /dev/full -> exit %d: %s\n", r.exit_code, message_of(r.output).c_str());
  expect_clean_failure(r, 2, {"full.safetensors: write failed: No space left on device"}, {"full.safetensors"});
}

TEST_F(Faults, DiskFullWhenExporting) {
  for (const char* name : {"model.onnx", "model.h5"}) {
    SCOPED_TRACE(name);
    const CliResult r = run_cli({"export", "--model", "resnet18", "--layout", "keras", "--input-size", "32", path(name)},
                                {{{"LOCKSTEP_FAULT", "write"}}});
    std::printf("[ faults ] write (export %s) -> exit %d: %s\n", name, r.exit_code, message_of(r.output).c_str());
    expect_clean_failure(r, 2, {name, "No space left on device"});
  }
}

TEST_F(Faults, DiskFullSavingThePipelineCache) {
  // The run completes and its result file is whole; the cache is not written, and the exit
  // status (4) says so.
  const std::string cache = path("cache");
  const CliResult r = run_cli(with(kRun, {"--save", path("out.safetensors")}),
                              {{{"LOCKSTEP_FAULT", "cache.write"}, {"LOCKSTEP_CACHE_DIR", cache}}});
  std::printf("[ faults ] cache.write -> exit %d: %s\n", r.exit_code, message_of(r.output).c_str());
  expect_clean_failure(r, 4, {"could not save the pipeline cache", "No space left on device", "results are complete"},
                       {"out.safetensors"});
  const std::string saved = slurp(path("out.safetensors"));
  EXPECT_GT(saved.size(), 8u + 4000u) << "the result file is incomplete";

  // The same with the kernel's ENOSPC: the cache file is a link to /dev/full.
  if (!fs::exists("/dev/full")) return;
  const CliResult first = run_cli(kRun, {{{"LOCKSTEP_CACHE_DIR", cache}}});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(cache)) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  fs::remove(files[0]);
  fs::create_symlink("/dev/full", files[0]);
  const CliResult full = run_cli(kRun, {{{"LOCKSTEP_CACHE_DIR", cache}}});
  std::printf("[ faults ] pipeline cache -> /dev/full -> exit %d: %s\n", full.exit_code, message_of(full.output).c_str());
  expect_clean_failure(full, 4, {"could not save the pipeline cache", "No space left on device"},
                       {"out.safetensors", files[0].filename().string()});
}

TEST_F(Faults, MissingAndUnreadableFiles) {
  fs::create_directories(path("a_directory.png"));
  std::ofstream(path("locked.png")) << "x";
  ::chmod(path("locked.png").c_str(), 0);
  const bool root = ::geteuid() == 0;  // root reads mode-000 files
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> message;
    std::string fault;
  };
  const std::vector<Case> cases = {
      {with(kRun, {path("missing.png")}), {"missing.png: cannot open: No such file or directory"}, ""},
      {with(kRun, {path("missing.npy")}), {"missing.npy: cannot open: No such file or directory"}, ""},
      {with(kRun, {path("a_directory.png")}), {"a_directory.png: cannot open: is a directory"}, ""},
      {with(kRun, {"--weights", path("missing.onnx")}), {"missing.onnx: cannot open the ONNX model: no such file"}, ""},
      {{"run", "--device", "0", "--model", "resnet18", "--input-size", "32", "--weights", path("missing.h5")},
       {"keras weights '" + path("missing.h5") + "': no such file"}, ""},
      {{"compare", path("missing.safetensors"), path("missing2.safetensors")}, {"missing.safetensors"}, ""},
      // An I/O error while reading (EIO), injected at the read.
      {with(kRun, {path("locked.png")}), {"locked.png: read failed: Input/output error"}, "read"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args.back());
    CliOptions o;
    if (!c.fault.empty()) {
      o.env.push_back({"LOCKSTEP_FAULT", c.fault});
      ::chmod(path("locked.png").c_str(), 0644);
    }
    const CliResult r = run_cli(c.args, o);
    std::printf("[ faults ] %s -> exit %d: %s\n", c.args.back().c_str(), r.exit_code, message_of(r.output).c_str());
    expect_clean_failure(r, 2, c.message, {"a_directory.png", "locked.png"});
  }
  if (!root) {
    ::chmod(path("locked.png").c_str(), 0);
    const CliResult r = run_cli(with(kRun, {path("locked.png")}));
    expect_clean_failure(r, 2, {"locked.png: cannot open: Permission denied"}, {"a_directory.png", "locked.png"});
  }
}

TEST_F(Faults, InterruptBetweenSubmissions) {
  const auto args = with(kRun, {"--save", path("out.safetensors")});
  const auto m = sweep(*this, "sigint", args, 130, {"interrupted by SIGINT", "stopped cleanly"}, true);
  EXPECT_TRUE(any_mentions(m, "before a compute sequence")) << "no interrupt just before the network ran";
}

TEST_F(Faults, RealSignalsStopALongRun) {
  // Monte-Carlo dropout with 100,000 passes would run for hours: a signal after 3 s stops it.
  const std::vector<std::string> args = {"run", "--device", "0", "--model", "vgg11", "--layout", "torch",
                                         "--input-size", "32", "--mc-dropout", "100000", "--save",
                                         path("out.safetensors")};
  for (int sig : {SIGINT, SIGTERM}) {
    CliOptions o;
    o.send_signal = sig;
    o.signal_after_s = 3;
    o.timeout_s = 120;
    const CliResult r = run_cli(args, o);
    std::printf("[ faults ] signal %d after 3 s -> exit %d after %.1f s: %s\n", sig, r.exit_code, r.seconds,
                message_of(r.output).c_str());
    expect_clean_failure(r, 128 + sig, {sig == SIGINT ? "interrupted by SIGINT" : "interrupted by SIGTERM"});
    EXPECT_LT(r.seconds, 60.0);
  }
}

TEST_F(Faults, NetworkTooLargeForTheDeviceIsRefusedWithTheNumbers) {
  // The expected numbers, computed here from the model: the prepared network's parameters.
  models::ModelOptions mo;
  mo.arch = "resnet18";
  mo.layout = models::Layout::Torch;
  mo.input_size = 32;
  graph::Network net = models::build(mo);
  models::init_synthetic(net, 1, 1.0);
  graph::prepare(net);
  uint64_t weight_bytes = 0;
  for (const auto& [name, values] : net.params) weight_bytes += values.size() * 4;
  char weights[64];
  std::snprintf(weights, sizeof weights, "weights %.1f MiB", weight_bytes / 1048576.0);

  const CliResult r =
      run_cli(with(kRun, {"--save", path("out.safetensors")}), {{{"LOCKSTEP_DEVICE_MEMORY_LIMIT", "8M"}}});
  std::printf("[ faults ] device memory limit 8 MiB -> exit %d: %s\n", r.exit_code, message_of(r.output).c_str());
  expect_clean_failure(r, 2, {"needs", weights, "activations", "has 8.0 MiB", "LOCKSTEP_DEVICE_MEMORY_LIMIT"});
  // With room for it, the same run works.
  const CliResult ok = run_cli(kRun, {{{"LOCKSTEP_DEVICE_MEMORY_LIMIT", "1G"}}});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
}

}  // namespace
}  // namespace lockstep::test
