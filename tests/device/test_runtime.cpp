// The Vulkan runtime: device selection, transfers, the pipeline cache on disk, bounded waits.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "device/harness.hpp"
#include "vk/errors.hpp"
#include "vk/pipeline_cache_file.hpp"
#include "vk/sequence.hpp"

namespace lockstep::test {

TEST(Runtime, SelectionByIndexVendorAndName) {
  Context& ctx = context();
  ASSERT_FALSE(ctx.devices().empty());
  EXPECT_EQ(ctx.select("0"), std::vector<uint32_t>{0});
  EXPECT_EQ(ctx.select("all").size(), ctx.devices().size());
  const auto& first = ctx.devices().front();
  EXPECT_FALSE(ctx.select(first.vendor).empty());
  EXPECT_FALSE(ctx.select(first.name.substr(0, 4)).empty());
}

TEST(Runtime, UploadDownloadRoundTripAtOffsets) {
  std::vector<uint32_t> data(1000);
  for (uint32_t i = 0; i < data.size(); ++i) data[i] = i * 2654435761u;
  Buffer b = device().create_buffer(8000);
  device().upload(b, data.data(), 4000, 4000);
  device().upload(b, data.data(), 4000, 0);
  std::vector<uint32_t> back(2000);
  device().download(b, back.data(), 8000);
  EXPECT_EQ(0, std::memcmp(back.data(), data.data(), 4000));
  EXPECT_EQ(0, std::memcmp(back.data() + 1000, data.data(), 4000));
  EXPECT_THROW(device().upload(b, data.data(), 4000, 4004), std::out_of_range);
}

TEST(Runtime, PipelineCacheIsWrittenAndReadBack) {
  const auto& t = device().traits();
  const auto dir = std::filesystem::temp_directory_path() / ("lockstep-cache-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  PipelineCacheIdentity id{t.vendor_id, t.device_id, t.driver_version, t.pipeline_cache_uuid};
  PipelineCacheFile file(id, dir);
  ::setenv("LOCKSTEP_CACHE_DIR", dir.c_str(), 1);
  {
    Device d(context(), device().index());  // compiles the probe pipeline, saves on destruction
  }
  ASSERT_TRUE(std::filesystem::exists(file.path())) << file.path();
  std::string warning;
  EXPECT_TRUE(file.load(&warning).has_value()) << warning;
  // A corrupt file is ignored with a warning, and the device still works.
  { std::ofstream(file.path(), std::ios::binary | std::ios::trunc) << "not a pipeline cache at all, just text"; }
  EXPECT_FALSE(file.load(&warning).has_value());
  EXPECT_NE(warning.find(file.path().string()), std::string::npos) << warning;
  {
    Device d(context(), device().index());
    EXPECT_TRUE(d.traits().probe_ran);
  }
  EXPECT_TRUE(file.load(&warning).has_value()) << "the corrupt cache was not replaced: " << warning;
  ::unsetenv("LOCKSTEP_CACHE_DIR");
  std::filesystem::remove_all(dir);
}

TEST(Runtime, FenceWaitIsBoundedByTheTimeout) {
  // A long softmax-free workload with a 0 ms budget: the wait must time out with a clear
  // error naming vkWaitForFences and VK_TIMEOUT, not hang; the device stays usable.
  Device& d = device();
  const auto saved = d.fence_timeout();
  d.set_fence_timeout(std::chrono::milliseconds(0));
  std::vector<float> big(1 << 22, 1.0f);
  bool timed_out = false;
  std::string message;
  try {
    Buffer b = d.upload_new<float>(big);
    (void)b;
  } catch (const vk_errors::VulkanError& e) {
    timed_out = e.result() == VK_TIMEOUT;
    message = e.what();
  }
  d.set_fence_timeout(saved);
  // A 16 MiB copy cannot finish before a zero-length wait returns.
  EXPECT_TRUE(timed_out) << "no timeout reported: " << message;
  EXPECT_NE(message.find("vkWaitForFences"), std::string::npos) << message;
  EXPECT_NE(message.find("VK_TIMEOUT"), std::string::npos) << message;
  // The device must still work afterwards.
  Buffer b = d.upload_new<float>(std::vector<float>{1.0f, 2.0f});
  EXPECT_EQ(d.download_all<float>(b, 2), (std::vector<float>{1.0f, 2.0f}));
}

}  // namespace lockstep::test
