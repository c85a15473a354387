// The pipeline cache file: only a file whose header names this device and driver is trusted.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "vk/pipeline_cache_file.hpp"

namespace lockstep {

namespace {
std::vector<uint8_t> header(uint32_t vendor, uint32_t device, const std::array<uint8_t, 16>& uuid, size_t extra = 8) {
  std::vector<uint8_t> d(32 + extra, 0xAB);
  const uint32_t fields[4] = {32, 1, vendor, device};
  std::memcpy(d.data(), fields, 16);
  std::memcpy(d.data() + 16, uuid.data(), 16);
  return d;
}
}  // namespace

TEST(PipelineCacheFile, HeaderChecks) {
  const PipelineCacheIdentity id{0x10DE, 0x2330, 7, {1, 2, 3}};
  EXPECT_FALSE(PipelineCacheFile::header_mismatch(header(0x10DE, 0x2330, id.cache_uuid), id));
  EXPECT_TRUE(PipelineCacheFile::header_mismatch(header(0x1002, 0x2330, id.cache_uuid), id));
  EXPECT_TRUE(PipelineCacheFile::header_mismatch(header(0x10DE, 0x9999, id.cache_uuid), id));
  EXPECT_TRUE(PipelineCacheFile::header_mismatch(header(0x10DE, 0x2330, {9}), id));
  EXPECT_TRUE(PipelineCacheFile::header_mismatch(std::vector<uint8_t>(10, 0), id));
  auto bad_size = header(0x10DE, 0x2330, id.cache_uuid);
  bad_size[0] = 200;  // header size beyond the file
  EXPECT_TRUE(PipelineCacheFile::header_mismatch(bad_size, id));
}

TEST(PipelineCacheFile, SaveLoadAndStaleFiles) {
  const auto dir = std::filesystem::temp_directory_path() / ("lockstep-pcf-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const PipelineCacheIdentity id{0x10005, 0, 1, {7, 7, 7}};
  PipelineCacheFile f(id, dir);
  std::string warning;
  EXPECT_FALSE(f.load(&warning).has_value());  // missing: silently nothing
  EXPECT_TRUE(warning.empty());
  const auto data = header(0x10005, 0, id.cache_uuid, 100);
  ASSERT_TRUE(f.save(data, &warning)) << warning;
  EXPECT_EQ(f.load(&warning).value(), data);
  // A newer driver version is a different file name: the old file is never read for it.
  PipelineCacheFile newer({0x10005, 0, 2, {7, 7, 7}}, dir);
  EXPECT_NE(newer.path(), f.path());
  EXPECT_FALSE(newer.load().has_value());
  // Truncated file: ignored with a warning naming it.
  std::filesystem::resize_file(f.path(), 20);
  EXPECT_FALSE(f.load(&warning).has_value());
  EXPECT_NE(warning.find(f.path().string()), std::string::npos);
  // Saving into a path that cannot be a directory fails cleanly.
  std::ofstream(dir / "blocker") << "x";
  PipelineCacheFile blocked(id, dir / "blocker" / "sub");
  EXPECT_FALSE(blocked.save(data, &warning));
  EXPECT_FALSE(warning.empty());
  std::filesystem::remove_all(dir);
}

}  // namespace lockstep
