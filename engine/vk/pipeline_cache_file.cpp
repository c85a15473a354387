#include "vk/pipeline_cache_file.hpp"

#include "vk/traits.hpp"
#include "util/atomic_file.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <system_error>

namespace lockstep {

namespace {
constexpr uint64_t kMaxCacheFileBytes = 512ull << 20;
std::atomic<uint32_t> g_save_failures{0};

uint32_t read_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;  // the header is in the host's byte order, as the driver wrote it
}

}  // namespace

std::filesystem::path default_cache_dir() {
  if (const char* d = std::getenv("LOCKSTEP_CACHE_DIR")) {
    if (std::strcmp(d, "off") == 0) return {};
    return d;
  }
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::filesystem::path(x) / "lockstep";
  if (const char* h = std::getenv("HOME"); h && *h) return std::filesystem::path(h) / ".cache" / "lockstep";
  return {};
}

PipelineCacheFile::PipelineCacheFile(const PipelineCacheIdentity& id, std::filesystem::path dir) : id_(id) {
  if (dir.empty()) {
    const char* env = std::getenv("LOCKSTEP_CACHE_DIR");
    if (env && std::strcmp(env, "off") == 0) return;
    dir = default_cache_dir();
  }
  if (dir.empty()) return;
  char name[128];
  std::snprintf(name, sizeof name, "pipelines-%08x-%08x-%08x-%s.bin", id.vendor_id, id.device_id,
                id.driver_version, hex(id.cache_uuid).c_str());
  path_ = dir / name;
}

std::optional<std::string> PipelineCacheFile::header_mismatch(const std::vector<uint8_t>& data,
                                                              const PipelineCacheIdentity& id) {
  // VkPipelineCacheHeaderVersionOne: u32 headerSize, u32 headerVersion, u32 vendorID,
  // u32 deviceID, u8 pipelineCacheUUID[16] — 32 bytes.
  if (data.size() < 32) return "shorter than a pipeline cache header (" + std::to_string(data.size()) + " bytes)";
  const uint32_t header_size = read_u32(&data[0]);
  if (header_size < 32 || header_size > data.size())
    return "header size " + std::to_string(header_size) + " is not valid for a " + std::to_string(data.size()) +
           "-byte file";
  if (read_u32(&data[4]) != 1) return "header version " + std::to_string(read_u32(&data[4])) + ", expected 1";
  if (read_u32(&data[8]) != id.vendor_id) return "written for another vendor";
  if (read_u32(&data[12]) != id.device_id) return "written for another device";
  if (std::memcmp(&data[16], id.cache_uuid.data(), 16) != 0) return "written by another driver build (cache UUID differs)";
  return std::nullopt;
}

std::optional<std::vector<uint8_t>> PipelineCacheFile::load(std::string* warning) const {
  if (path_.empty()) return std::nullopt;
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) return std::nullopt;  // first run: nothing to say
  auto fail = [&](const std::string& why) -> std::optional<std::vector<uint8_t>> {
    if (warning) *warning = "ignoring pipeline cache " + path_.string() + ": " + why;
    return std::nullopt;
  };
  const auto size = std::filesystem::file_size(path_, ec);
  if (ec) return fail(ec.message());
  if (size > kMaxCacheFileBytes) return fail("file is " + std::to_string(size) + " bytes, larger than any cache");
  std::ifstream in(path_, std::ios::binary);
  if (!in) return fail("cannot open it");
  std::vector<uint8_t> data(size);
  if (size && !in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(size)))
    return fail("read failed");
  if (auto why = header_mismatch(data, id_)) return fail(*why);
  return data;
}

bool PipelineCacheFile::save(const std::vector<uint8_t>& data, std::string* warning) const {
  if (path_.empty() || data.empty()) return true;
  std::error_code ec;
  std::filesystem::create_directories(path_.parent_path(), ec);
  try {
    util::AtomicFile out(path_.string(), "cache.write");
    out.write(data.data(), data.size());
    out.commit();
  } catch (const std::exception& e) {
    g_save_failures++;
    if (warning) *warning = std::string("could not save the pipeline cache: ") + e.what();
    return false;
  }
  return true;
}

uint32_t pipeline_cache_save_failures() { return g_save_failures.load(); }

}  // namespace lockstep
