// Fuzz target: the on-disk pipeline cache (lockstep::PipelineCacheFile, engine/vk/
// pipeline_cache_file.hpp): header_mismatch() on the bytes, and load() of the same bytes as the
// cache file of a fixed device identity (lavapipe's, as in the seed corpus' valid files), through a
// file in a private temporary directory. Bytes that load() accepts would go to the driver's
// vkCreatePipelineCache: they must have passed header_mismatch().
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "vk/pipeline_cache_file.hpp"

namespace {

lockstep::PipelineCacheIdentity identity() {
  lockstep::PipelineCacheIdentity id;
  id.vendor_id = 0x10005;  // Mesa (lavapipe)
  id.device_id = 0;
  id.driver_version = 1;
  const uint8_t uuid[16] = {'v', 'a', 'l', '-', '%', 's'};  // what lavapipe reports (Mesa 22.3)
  for (int i = 0; i < 16; ++i) id.cache_uuid[i] = uuid[i];
  return id;
}

struct Dir {
  std::filesystem::path path;
  Dir() {
    char tmpl[] = "/tmp/lockstep-fuzz-cache-XXXXXX";
    if (!mkdtemp(tmpl)) std::abort();
    path = tmpl;
  }
  ~Dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const lockstep::PipelineCacheIdentity id = identity();
  static Dir dir;
  static const lockstep::PipelineCacheFile file(id, dir.path);
  const std::vector<uint8_t> bytes(data, data + size);
  try {
    const bool valid = !lockstep::PipelineCacheFile::header_mismatch(bytes, id).has_value();
    FILE* f = std::fopen(file.path().c_str(), "wb");
    if (!f) std::abort();
    if (size && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
    std::string warning;
    const auto loaded = file.load(&warning);
    // load() passes on exactly the bytes header_mismatch() accepts, and says why it refused.
    if (loaded.has_value() != valid) __builtin_trap();
    if (loaded && *loaded != bytes) __builtin_trap();
    if (!loaded && warning.empty()) __builtin_trap();
  } catch (const std::exception&) {
  }
  return 0;
}
