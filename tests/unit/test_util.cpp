// engine/util: fault injection, interrupts and atomic file writes, the pieces every fault test
// (tests/faults) stands on. Every failure path must leave the target as it was and no temporary.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <unistd.h>

#include "util/atomic_file.hpp"
#include "util/fault.hpp"
#include "util/interrupt.hpp"
#include "vk/pipeline_cache_file.hpp"

namespace lockstep {
namespace {

namespace fs = std::filesystem;

class Scratch {
 public:
  Scratch() : dir_(fs::temp_directory_path() / ("lockstep-util-" + std::to_string(::getpid()))) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~Scratch() {
    fault::configure("");
    interrupt::set_requested_for_testing(0);
    fs::remove_all(dir_);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // Every entry of the directory: a leftover temporary shows up here.
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  fs::path dir_;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(Fault, PointsFailOnTheirPassesOnly) {
  fault::configure("a@2,b@3+,c");
  std::string seen;
  for (int i = 0; i < 5; ++i) seen += std::string(fault::hit("a") ? "A" : ".") + (fault::hit("b") ? "B" : ".") +
                                      (fault::hit("c") ? "C" : ".") + (fault::hit("d") ? "D" : ".") + " ";
  EXPECT_EQ(seen, "..C. A... .B.. .B.. .B.. ");
  fault::configure("");
  EXPECT_FALSE(fault::hit("a"));
  EXPECT_THROW(fault::configure("a@0"), std::invalid_argument);
  EXPECT_THROW(fault::configure("a@x"), std::invalid_argument);
  EXPECT_THROW(fault::configure("@3"), std::invalid_argument);
}

TEST(AtomicFile, CommitReplacesTheTargetAndLeavesNothingElse) {
  Scratch s;
  util::write_file_atomically(s.path("out.bin"), {"old"});
  util::AtomicFile f(s.path("out.bin"));
  f.write("new ");
  EXPECT_EQ(slurp(s.path("out.bin")), "old") << "the target changed before commit";
  EXPECT_EQ(s.entries().size(), 2u) << "the temporary is next to the target";
  f.write(std::string(40 << 20, 'x'));  // more than one 16 MiB chunk
  f.commit();
  EXPECT_EQ(slurp(s.path("out.bin")).size(), 4u + (40u << 20));
  EXPECT_EQ(s.entries(), std::vector<std::string>{"out.bin"});
}

TEST(AtomicFile, DiskFullKeepsTheOldFileAndRemovesTheTemporary) {
  Scratch s;
  util::write_file_atomically(s.path("out.bin"), {"old contents"});
  fault::configure("write@2");  // the second chunk: half of it lands, then ENOSPC
  try {
    util::write_file_atomically(s.path("out.bin"), {std::string(20 << 20, 'y'), "tail"});
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(s.path("out.bin") + ": write failed: No space left on device", 0), 0u)
        << e.what();
  }
  EXPECT_EQ(slurp(s.path("out.bin")), "old contents");
  EXPECT_EQ(s.entries(), std::vector<std::string>{"out.bin"});
}

TEST(AtomicFile, RealDiskFullThroughDevFull) {
  Scratch s;
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  // A symbolic link to /dev/full: not a regular file, so written directly; the kernel says ENOSPC.
  fs::create_symlink("/dev/full", s.path("full.bin"));
  EXPECT_THROW(
      {
        try {
          util::write_file_atomically(s.path("full.bin"), {std::string(1 << 16, 'z')});
        } catch (const std::runtime_error& e) {
          EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
          throw;
        }
      },
      std::runtime_error);
  EXPECT_EQ(s.entries(), std::vector<std::string>{"full.bin"});
  EXPECT_TRUE(fs::is_symlink(s.path("full.bin")));
}

TEST(AtomicFile, AnInterruptAbandonsTheWrite) {
  Scratch s;
  interrupt::set_requested_for_testing(SIGINT);
  EXPECT_THROW(util::write_file_atomically(s.path("out.bin"), {"data"}), interrupt::Interrupted);
  EXPECT_TRUE(s.entries().empty());
}

TEST(AtomicFile, AnExceptionBeforeCommitRemovesTheTemporary) {
  Scratch s;
  try {
    util::AtomicFile f(s.path("out.bin"));
    f.write("partial");
    throw std::runtime_error("the caller failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_TRUE(s.entries().empty());
}

TEST(AtomicFile, UnwritablePlacesAreNamedErrors) {
  Scratch s;
  fs::create_directories(s.path("dir"));
  EXPECT_THROW(util::AtomicFile(s.path("dir")), std::runtime_error);
  try {
    util::AtomicFile f(s.path("missing/out.bin"));
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos) << e.what();
  }
}

TEST(PipelineCacheFile, DiskFullWhenSavingKeepsTheOldCacheAndCounts) {
  Scratch s;
  const PipelineCacheIdentity id{0x10005, 0, 1, {7, 7, 7}};
  PipelineCacheFile f(id, s.path("cache"));
  std::vector<uint8_t> data(64, 0);
  const uint32_t header[4] = {32, 1, id.vendor_id, id.device_id};
  std::memcpy(data.data(), header, 16);
  std::memcpy(data.data() + 16, id.cache_uuid.data(), 16);
  ASSERT_TRUE(f.save(data));
  const uint32_t failures = pipeline_cache_save_failures();
  fault::configure("cache.write");
  std::vector<uint8_t> bigger = data;
  bigger.resize(4096, 0xEE);
  std::string warning;
  EXPECT_FALSE(f.save(bigger, &warning));
  EXPECT_NE(warning.find("No space left on device"), std::string::npos) << warning;
  EXPECT_EQ(pipeline_cache_save_failures(), failures + 1);
  EXPECT_EQ(f.load(), data) << "the old cache must survive a failed save";
  EXPECT_EQ(std::distance(fs::directory_iterator(s.path("cache")), fs::directory_iterator{}), 1);
}

}  // namespace
}  // namespace lockstep
